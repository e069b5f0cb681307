"""How long a step's ``SchedulerOutput`` takes to reach every tensor-parallel worker.

With ``tensor_parallel_size=N`` the driver (rank 0) sends each step's plain-data
``SchedulerOutput`` to ``N - 1`` worker processes before the forward pass can start on them, so
its delivery is on every step's critical path. Three ways to deliver it are timed here, on
realistic messages built with the real dataclasses:

- ``pipe``: pickled once, ``send_bytes`` on a pipe per worker; the worker unpickles what it
  reads (what ``MultiprocExecutor`` does);
- ``broadcast_object_list``: ``torch.distributed.broadcast_object_list`` over the gloo group the
  ranks share (it pickles, broadcasts the length, then the bytes);
- ``shared memory``: pickled once into a ``multiprocessing.shared_memory`` buffer every rank has
  mapped; the notification is the length (8 bytes) sent on each worker's pipe, and the worker
  unpickles straight from the buffer.

A message counts as delivered when every worker holds the unpickled object and has said so:
each worker acknowledges with one byte on its pipe, the same return leg for all three, and the
driver times from before it pickles to the last acknowledgement. Each figure is the median over
``--messages`` messages, best of ``--repeats`` stretches (the transports take turns within each
stretch, so a noisy moment hits them alike). The ranks are spawned processes on this machine,
joined over ``tcp://127.0.0.1``; no model runs. For scale, the table also gives what pickling
and unpickling the message costs in one process, which every transport pays. (The engine itself
waits for no acknowledgement: rank 0 starts its forward pass, and waits for the workers at the
first all-reduce.)

Run: ``python -m benchmarks.transport --output-json docs/benchmarks/results/m7-cpu-transport.json``
"""

from __future__ import annotations

import argparse
import datetime
import os
import pickle
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.shared_memory import SharedMemory

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from folovllm import SamplingParams
from folovllm.benchmarks import host_cpu_name, output_json_arg, report
from folovllm.benchmarks.throughput import git_commit
from folovllm.core.scheduler_output import CachedSeqData, NewSeqData, SchedulerOutput
from folovllm.executor.multiproc_executor import _free_port

BLOCK_SIZE = 16          # tokens per KV block, the engine's default
VOCAB_SIZE = 49152       # the default model's (SmolLM2-135M): token ids need up to 2 bytes
ACK = b"k"


def decode_step(num_seqs: int = 256, seed: int = 0) -> SchedulerOutput:
    """The common step: ``num_seqs`` running sequences, one token each. A sequence gets a new
    block when its context crosses a block boundary (about one in ``BLOCK_SIZE``), two finished
    since the last step."""
    rng = random.Random(seed)
    seq_ids = list(range(1000, 1000 + num_seqs))
    computed = [rng.randrange(200, 2000) for _ in seq_ids]
    new_blocks = [[rng.randrange(50_000)] if n % BLOCK_SIZE == 0 else [] for n in computed]
    cached = CachedSeqData(seq_ids, [False] * num_seqs, new_blocks, computed)
    return SchedulerOutput([], cached, {i: 1 for i in seq_ids}, num_seqs, {998, 999},
                           num_decode_tokens=num_seqs)


def admission_step(num_seqs: int = 8, prompt_len: int = 1024, seed: int = 0) -> SchedulerOutput:
    """The biggest message: ``num_seqs`` new requests whose whole prompts are sent (once), with
    their sampling parameters (one object per request, as ``LLM.generate`` makes them, so
    pickle cannot share one) and the blocks that hold them."""
    rng = random.Random(seed)
    num_blocks = -(-prompt_len // BLOCK_SIZE)
    new = [NewSeqData(seq_id, f"request-{seq_id}", 0,
                      tuple(rng.randrange(VOCAB_SIZE) for _ in range(prompt_len)),
                      SamplingParams(temperature=0.7, top_p=0.9, max_tokens=256),
                      list(range(seq_id * num_blocks, (seq_id + 1) * num_blocks)), 0)
           for seq_id in range(num_seqs)]
    return SchedulerOutput(new, CachedSeqData(), {s.seq_id: prompt_len for s in new},
                           num_seqs * prompt_len, set())


def steps() -> dict[str, SchedulerOutput]:
    """The messages the benchmark sends, by the name its results use."""
    return {"decode": decode_step(), "admission": admission_step()}


def describe(name: str, step: SchedulerOutput) -> dict:
    """What the results file records of a message: its name, a label, its pickled size."""
    new = step.scheduled_new_seqs
    label = (f"{name}, {len(new)} x {len(new[0].prompt_token_ids):,} tokens" if new
             else f"{name}, {len(step.scheduled_cached_seqs.seq_ids)} sequences")
    return {"name": name, "label": label, "bytes": len(pickle.dumps(step))}


def pickle_round_trip_us(step: SchedulerOutput, messages: int, repeats: int) -> float:
    """The floor under all three: pickling once and unpickling once, in one process, with no
    other process to wake (median, best of ``repeats``)."""
    medians = []
    for _ in range(repeats):
        seconds = []
        for _ in range(messages):
            start = time.perf_counter()
            pickle.loads(pickle.dumps(step))
            seconds.append(time.perf_counter() - start)
        medians.append(statistics.median(seconds))
    return round(min(medians) * 1e6, 1)


# ---- the three transports: the driver's send, a worker's receive -------------------------
def _send_pipe(step: SchedulerOutput, conns: list[Connection], shm: SharedMemory) -> None:
    payload = pickle.dumps(step)   # once, for every worker
    for conn in conns:
        conn.send_bytes(payload)


def _receive_pipe(conn: Connection, shm: SharedMemory) -> SchedulerOutput:
    return pickle.loads(conn.recv_bytes())


def _send_broadcast(step: SchedulerOutput, conns: list[Connection], shm: SharedMemory) -> None:
    dist.broadcast_object_list([step], src=0)


def _receive_broadcast(conn: Connection, shm: SharedMemory) -> SchedulerOutput:
    received = [None]
    dist.broadcast_object_list(received, src=0)
    return received[0]


def _send_shared_memory(step: SchedulerOutput, conns: list[Connection],
                        shm: SharedMemory) -> None:
    """The bytes go into the mapped buffer once; each pipe carries only their length. The
    driver writes the next message only after every worker acknowledged this one."""
    payload = pickle.dumps(step)
    shm.buf[:len(payload)] = payload
    header = len(payload).to_bytes(8, "little")
    for conn in conns:
        conn.send_bytes(header)


def _receive_shared_memory(conn: Connection, shm: SharedMemory) -> SchedulerOutput:
    size = int.from_bytes(conn.recv_bytes(), "little")
    return pickle.loads(shm.buf[:size])


@dataclass(frozen=True)
class Transport:
    """One way to deliver a step: what the driver does once per message, and what each worker
    does to get the object back."""

    name: str
    send: Callable[[SchedulerOutput, list[Connection], SharedMemory], None]
    receive: Callable[[Connection, SharedMemory], SchedulerOutput]


TRANSPORTS = {t.name: t for t in (
    Transport("pipe", _send_pipe, _receive_pipe),
    Transport("broadcast_object_list", _send_broadcast, _receive_broadcast),
    Transport("shared memory", _send_shared_memory, _receive_shared_memory),
)}


# ---- the processes -----------------------------------------------------------------------
def _worker(rank: int, world_size: int, init_method: str, shm_name: str,
            conn: Connection) -> None:
    """Join the group, then for each order ``(transport, count)`` the driver sends, receive
    ``count`` messages that way and acknowledge each; ``None`` ends it."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world_size,
                            timeout=timedelta(seconds=60))
    shm = SharedMemory(name=shm_name)
    try:
        while (order := conn.recv()) is not None:
            name, count = order
            for _ in range(count):
                TRANSPORTS[name].receive(conn, shm)
                conn.send_bytes(ACK)
    finally:
        shm.close()
        dist.destroy_process_group()


@dataclass
class Ranks:
    """The driver's view of the group: a pipe per worker, the shared buffer, the processes."""

    conns: list[Connection]
    shm: SharedMemory
    procs: list[BaseProcess]


def _start_ranks(world_size: int, capacity: int) -> Ranks:
    """Spawn ranks ``1..world_size-1``, then join the gloo group as rank 0."""
    init_method = f"tcp://127.0.0.1:{_free_port()}"
    ctx = mp.get_context("spawn")
    ranks = Ranks([], SharedMemory(create=True, size=capacity), [])
    try:
        for rank in range(1, world_size):
            driver_end, worker_end = ctx.Pipe()
            ranks.procs.append(ctx.Process(target=_worker, daemon=True, args=(
                rank, world_size, init_method, ranks.shm.name, worker_end)))
            ranks.procs[-1].start()
            worker_end.close()
            ranks.conns.append(driver_end)
        dist.init_process_group("gloo", init_method=init_method, rank=0, world_size=world_size,
                                timeout=timedelta(seconds=60))
    except BaseException:
        _stop_ranks(ranks)   # whatever started, and the buffer
        raise
    return ranks


def _stop_ranks(ranks: Ranks) -> None:
    """Tell every worker to stop, terminate one that does not, free the buffer."""
    for conn in ranks.conns:
        try:
            conn.send(None)
        except OSError:
            pass   # that worker is gone already
    for proc in ranks.procs:
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
    if dist.is_initialized():
        dist.destroy_process_group()
    ranks.shm.close()
    ranks.shm.unlink()


def _time_messages(transport: Transport, step: SchedulerOutput, ranks: Ranks,
                   count: int) -> list[float]:
    """Seconds per message, from before the driver pickles to the last worker's ack."""
    for conn in ranks.conns:
        conn.send((transport.name, count))
    seconds = []
    for _ in range(count):
        start = time.perf_counter()
        transport.send(step, ranks.conns, ranks.shm)
        for conn in ranks.conns:
            conn.recv_bytes()
        seconds.append(time.perf_counter() - start)
    return seconds


def measure(world_size: int, messages: int, repeats: int, warmup: int = 20) -> list[dict]:
    """One row per (step, transport): the best of ``repeats`` medians over ``messages``
    deliveries from rank 0 to ranks ``1..world_size-1``."""
    sent = steps()
    ranks = _start_ranks(world_size, max(len(pickle.dumps(s)) for s in sent.values()))
    medians: dict[tuple[str, str], list[float]] = {}
    try:
        for step_name, step in sent.items():
            for transport in TRANSPORTS.values():
                _time_messages(transport, step, ranks, warmup)
            for _ in range(repeats):   # the transports take turns within a stretch
                for transport in TRANSPORTS.values():
                    times = _time_messages(transport, step, ranks, messages)
                    medians.setdefault((step_name, transport.name), []).append(
                        statistics.median(times))
    finally:
        _stop_ranks(ranks)
    return [{"world_size": world_size, "step": step_name, "transport": name,
             "median_us": round(min(m) * 1e6, 1),
             "repeat_medians_us": [round(x * 1e6, 1) for x in m]}
            for (step_name, name), m in medians.items()]


def _where(result: dict) -> str:
    return (f"Median over {result['messages']} messages, best of {result['repeats']} runs; "
            f"{result['machine']}, Python {result['python_version']}, torch "
            f"{result['torch_version']}, commit `{result['commit'][:7]}`, {result['date']}.")


def format_table(result: dict) -> str:
    """Where and how it was measured, then one line per world size and step: the message's
    pickled size and what pickling and unpickling it alone costs, then each transport's median
    delivery time to every worker (the fastest in bold)."""
    about = {s["name"]: s for s in result["steps"]}
    names = list(dict.fromkeys(r["transport"] for r in result["rows"]))
    lines = [_where(result), "",
             "| ranks | step | message | pickle + unpickle (µs) | "
             + " | ".join(f"{n} (µs)" for n in names) + " |",
             "|---:|---|---:|---:|" + "---:|" * len(names)]
    groups: dict[tuple[int, str], dict[str, float]] = {}
    for r in result["rows"]:
        groups.setdefault((r["world_size"], r["step"]), {})[r["transport"]] = r["median_us"]
    for (world_size, step), by in groups.items():
        best = min(by.values())
        cells = [f"**{by[n]:.0f}**" if by[n] == best else f"{by[n]:.0f}" for n in names]
        s = about[step]
        lines.append(f"| {world_size} | {s['label']} | {s['bytes']:,} B | {s['pickle_us']:.0f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world-sizes", default="2,3")
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--output-json", default=None, type=output_json_arg)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for world_size in (int(s) for s in args.world_sizes.split(",")):
        for r in measure(world_size, args.messages, args.repeats):
            print(f"ranks {r['world_size']}  {r['step']:9s}  {r['transport']:21s}  "
                  f"{r['median_us']:9.1f} us", flush=True)
            rows.append(r)
    result = {"benchmark": "scheduler-output-transport",
              "command": shlex.join(["python", "-m", "benchmarks.transport",
                                     *(sys.argv[1:] if argv is None else argv)]),
              "device": "cpu", "machine": f"{os.cpu_count()} x {host_cpu_name()}",
              "python_version": platform.python_version(), "torch_version": torch.__version__,
              "date": datetime.date.today().isoformat(), "commit": git_commit(),
              "messages": args.messages, "repeats": args.repeats,
              "steps": [{**describe(name, step),
                         "pickle_us": pickle_round_trip_us(step, args.messages, args.repeats)}
                        for name, step in steps().items()],
              "rows": rows}
    report(format_table(result), result, args.output_json)


if __name__ == "__main__":
    main()
