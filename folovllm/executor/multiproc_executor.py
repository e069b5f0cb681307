"""Tensor parallelism over processes: rank 0 in the engine's process, the other ranks in workers.

With ``tensor_parallel_size=N`` the engine's process is rank 0, the driver: it owns a
``ModelRunner`` as at ``N=1`` and is the one rank that samples. It starts ``N - 1`` worker
processes (spawned: a forked copy of a process that already runs threads or CUDA is unsafe), and
each joins the process group (gloo on the CPU, NCCL on CUDA with device ``cuda:rank``), builds its
own ``ModelRunner`` (its shard of the weights, the K/V of its heads) and then runs every step
the driver sends it. The ranks meet only inside the model (the collectives of the parallel
layers) and when rank 0 broadcasts the tokens it sampled, so every rank's input batch stays the
same (vLLM's ``MultiprocExecutor``).

Each step's ``SchedulerOutput`` goes to the workers through a pipe per worker, pickled once, and
not through ``torch.distributed.broadcast_object_list``: the same pipe carries a worker's error
(its traceback) and the shutdown message, and the driver can check that a worker is alive and
poll its pipe with a timeout, where a collective would block it on a dead peer. The message is
small (the scheduler sends a prompt once, then only what changed), so the copy costs little.

Failures: an exception on any rank, while loading or during a step, ends the group. The worker
sends its traceback and exits; its sockets close, so the driver's pending collective fails at
once (and every collective has a timeout besides); the driver then raises ``WorkerError`` with
the worker's traceback in its message, and shuts every worker down. After a failed step the
executor is closed: there is no re-run of the step request by request across ranks.

Shutdown: ``shutdown()`` (``LLM.shutdown``, ``LLMEngine.shutdown``), and at interpreter exit
(``weakref.finalize``), sends each worker the shutdown message, waits a few seconds, then
terminates what is left. Workers are daemon processes, ignore Ctrl-C (the driver handles it and
shuts them down), and exit by themselves when the driver's end of their pipe closes.

As with any spawned process, a script that builds an ``LLM`` with ``tensor_parallel_size > 1``
must do so under ``if __name__ == "__main__":``, since each worker imports the main module.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import sys
import time
import traceback
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import NoReturn

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from folovllm.config import EngineConfig
from folovllm.core.scheduler_output import ModelRunnerOutput, SchedulerOutput
from folovllm.distributed.parallel_state import destroy_distributed, init_distributed
from folovllm.worker.model_runner import ModelRunner

# How long any rank waits for the others in the rendezvous and in each collective; a dead peer
# is noticed at once (its sockets close), this bounds a live one that stopped answering.
COLLECTIVE_TIMEOUT_S = 600.0
STARTUP_TIMEOUT_S = 600.0   # loading the shard, sizing the KV cache, warming up
ERROR_GRACE_S = 5.0         # how long a failed step waits for a worker's traceback
JOIN_TIMEOUT_S = 5.0        # how long shutdown waits before it terminates a worker
SHUTDOWN = b""              # the message that ends a worker's loop (a step is never empty)


class WorkerError(RuntimeError):
    """A tensor-parallel worker process failed; the message holds its traceback."""


@dataclass
class WorkerHandle:
    """A worker process, its rank, and the driver's end of its pipe."""

    rank: int
    process: BaseProcess
    conn: Connection


class MultiprocExecutor:
    """Rank 0's ``ModelRunner`` in this process, ranks ``1..N-1`` in worker processes."""

    # --8<-- [start:executor]
    def __init__(self, config: EngineConfig) -> None:
        if dist.is_initialized():   # the layers read the one default group
            raise RuntimeError("a tensor-parallel engine is already running in this process; "
                               "shut it down first (LLM.shutdown())")
        self.tp_size = config.parallel_config.tensor_parallel_size
        cuda = config.model_config.device == "cuda"
        backend = "nccl" if cuda else "gloo"
        init_method = f"tcp://127.0.0.1:{_free_port()}"
        ctx = mp.get_context("spawn")
        self.workers: list[WorkerHandle] = []
        # set up first: whatever happens below, the workers started so far are shut down
        self._finalizer = weakref.finalize(self, _shutdown, self.workers)
        try:
            for rank in range(1, self.tp_size):
                self.workers.append(_start_worker(ctx, config, rank, init_method, backend))
            if cuda:
                torch.cuda.set_device(0)
            init_distributed(self.tp_size, 0, init_method, backend, COLLECTIVE_TIMEOUT_S)
            self.driver_runner = ModelRunner(config)
            self._wait_until_ready()
        except BaseException as error:
            self._fail(error)

    def execute_model(self, scheduler_output: SchedulerOutput) -> ModelRunnerOutput:
        """Send the step to every worker, run it on rank 0, and return rank 0's output (the
        sampled tokens). Any failure, on any rank, raises and shuts the executor down."""
        if not self._finalizer.alive:
            raise RuntimeError("the tensor-parallel workers were shut down (after an error or "
                               "shutdown()); build a new engine")
        try:
            self._raise_if_a_worker_failed()
            payload = pickle.dumps(scheduler_output)   # once, for every worker
            for worker in self.workers:
                worker.conn.send_bytes(payload)
            return self.driver_runner.execute_model(scheduler_output)
        except BaseException as error:
            self._fail(error)
    # --8<-- [end:executor]

    def shutdown(self) -> None:
        """Stop every worker and leave the process group (again: nothing)."""
        self._finalizer()

    # ---- failures ------------------------------------------------------------------------
    def _wait_until_ready(self) -> None:
        """Every worker has built its runner: it says so, or fails, within the timeout."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for worker in self.workers:
            while not worker.conn.poll(0.1):
                if not worker.process.is_alive() or time.monotonic() > deadline:
                    raise WorkerError(f"tensor-parallel worker rank {worker.rank} did not "
                                      f"start (exit code {worker.process.exitcode})")
            kind, text = _recv(worker.conn)
            if kind != "ready":
                raise WorkerError(_worker_message(worker, kind, text))

    def _raise_if_a_worker_failed(self) -> None:
        """Between steps: a worker that sent an error or died fails the next step at once."""
        for worker in self.workers:
            if worker.conn.poll() or not worker.process.is_alive():
                raise WorkerError(f"tensor-parallel worker rank {worker.rank} stopped")

    def _fail(self, error: BaseException) -> NoReturn:
        """Shut down, then raise what went wrong: a worker's own error (with its traceback)
        when one reported one, else ``error``."""
        failure = self._worker_failure()
        self.shutdown()
        if failure is not None:
            raise failure from error
        raise error

    def _worker_failure(self) -> WorkerError | None:
        """The errors the workers reported (a failed worker sends its traceback, then exits),
        waiting up to ``ERROR_GRACE_S`` for a worker that is still running."""
        deadline = time.monotonic() + ERROR_GRACE_S
        messages, pending = [], list(self.workers)
        while pending and time.monotonic() < deadline:
            for worker in list(pending):
                if _poll(worker.conn):   # a message, or the end of the pipe
                    messages.append(_worker_message(worker, *_recv(worker.conn)))
                    pending.remove(worker)
                elif not worker.process.is_alive():
                    messages.append(_worker_message(worker, "exited", ""))
                    pending.remove(worker)
            if pending:
                time.sleep(0.05)
        return WorkerError("\n".join(messages)) if messages else None


def _worker_message(worker: WorkerHandle, kind: str, text: str) -> str:
    """What a worker's last message says: its traceback, or how it ended without one."""
    if kind == "error":
        return f"tensor-parallel worker rank {worker.rank} failed:\n{text}"
    worker.process.join(1.0)
    return (f"tensor-parallel worker rank {worker.rank} exited (exit code "
            f"{worker.process.exitcode}) without reporting an error")


def _poll(conn: Connection) -> bool:
    try:
        return conn.poll()
    except (OSError, EOFError):
        return False


def _recv(conn: Connection) -> tuple[str, str]:
    """``(kind, text)``: ``("ready", "")``, ``("error", traceback)``, or ``("exited", "")``
    when the worker's end of the pipe is closed."""
    try:
        return conn.recv()
    except (OSError, EOFError):
        return ("exited", "")


def _free_port() -> int:
    """A TCP port nobody listens on now, for rank 0's rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_worker(ctx, config: EngineConfig, rank: int, init_method: str,
                  backend: str) -> WorkerHandle:
    driver_end, worker_end = ctx.Pipe()
    process = ctx.Process(target=_worker_main, name=f"folovllm-tp-rank{rank}", daemon=True,
                          args=(config, rank, init_method, backend, worker_end))
    process.start()
    worker_end.close()   # the worker holds it now: when the worker exits, recv sees EOF
    return WorkerHandle(rank, process, driver_end)


def _shutdown(workers: list[WorkerHandle]) -> None:
    """Ask every worker to stop, wait a little, terminate the rest; leave the group."""
    for worker in workers:
        try:
            worker.conn.send_bytes(SHUTDOWN)
        except OSError:
            pass   # it is gone already
    deadline = time.monotonic() + JOIN_TIMEOUT_S
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():   # stuck in a collective with a rank that is gone
            worker.process.terminate()
            worker.process.join(1.0)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()
    destroy_distributed()


# ---- the worker process ------------------------------------------------------------------
# --8<-- [start:worker_main]
def _worker_main(config: EngineConfig, rank: int, init_method: str, backend: str,
                 conn: Connection) -> None:
    """Rank ``rank``: join the group, build the runner, then run each step the driver sends
    until the shutdown message (or until the driver is gone). An exception is sent to the
    driver as a traceback, and the process exits with code 1."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the driver's to handle
    tp_size = config.parallel_config.tensor_parallel_size
    try:
        if backend == "nccl":
            torch.cuda.set_device(rank)
        else:   # the ranks share the cores instead of each starting a thread per core
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // tp_size))
        init_distributed(tp_size, rank, init_method, backend, COLLECTIVE_TIMEOUT_S)
        runner = ModelRunner(config)
        conn.send(("ready", ""))
        while (payload := conn.recv_bytes()) != SHUTDOWN:
            runner.execute_model(pickle.loads(payload))
    except EOFError:
        sys.exit(0)   # the driver is gone: nothing left to serve
    except BaseException:
        try:
            conn.send(("error", traceback.format_exc()))
        except OSError:
            pass
        sys.exit(1)   # without leaving the group: the exit closes its sockets
    destroy_distributed()
# --8<-- [end:worker_main]
