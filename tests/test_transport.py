"""The transport benchmark's messages, its transports and its table.

The messages are checked for what the benchmark says they are; the pipe and shared-memory
transports run their send and receive in this one process (the same functions the ranks call);
the table is rendered from a hand-made result. One short run of the real thing, with one
spawned worker and a few messages (about a second), covers ``broadcast_object_list`` and the
processes' start and stop.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
from multiprocessing.shared_memory import SharedMemory

import pytest

from benchmarks.transport import (
    BLOCK_SIZE,
    TRANSPORTS,
    admission_step,
    decode_step,
    describe,
    format_table,
    measure,
    steps,
)


def test_decode_step_is_one_token_for_each_of_256_running_sequences() -> None:
    step = decode_step()
    cached = step.scheduled_cached_seqs
    assert step.scheduled_new_seqs == [] and len(cached.seq_ids) == 256
    assert list(step.num_scheduled_tokens) == cached.seq_ids
    assert set(step.num_scheduled_tokens.values()) == {1}
    assert step.total_num_scheduled_tokens == step.num_decode_tokens == 256
    assert len(cached.new_block_ids) == len(cached.num_computed_tokens) == 256
    with_block = [n for n, b in zip(cached.num_computed_tokens, cached.new_block_ids) if b]
    assert 0 < len(with_block) < 256 // 4   # about one in BLOCK_SIZE crosses a block boundary
    assert all(n % BLOCK_SIZE == 0 for n in with_block)
    assert not any(cached.resumed_from_preemption)


def test_admission_step_sends_eight_whole_prompts() -> None:
    step = admission_step()
    assert len(step.scheduled_new_seqs) == 8 and step.total_num_scheduled_tokens == 8 * 1024
    for seq in step.scheduled_new_seqs:
        assert len(seq.prompt_token_ids) == 1024 and len(seq.block_ids) == 1024 // BLOCK_SIZE
        assert step.num_scheduled_tokens[seq.seq_id] == 1024 and seq.num_computed_tokens == 0
    assert step.scheduled_cached_seqs.seq_ids == []


@pytest.mark.parametrize("name", ["decode", "admission"])
def test_messages_round_trip_and_are_the_same_every_time(name: str) -> None:
    """The results file records each message's size: rebuilding it must give the same bytes."""
    step = steps()[name]
    payload = pickle.dumps(step)
    assert pickle.loads(payload) == step
    assert pickle.dumps(steps()[name]) == payload
    assert describe(name, step)["bytes"] == len(payload)


def test_describe_labels_the_steps() -> None:
    assert [describe(n, s)["label"] for n, s in steps().items()] == \
        ["decode, 256 sequences", "admission, 8 x 1,024 tokens"]


def test_an_admission_carries_far_more_than_a_decode() -> None:
    """A prompt is sent once, whole; a decode step sends only ids and counts."""
    decode, admission = (len(pickle.dumps(s)) for s in steps().values())
    assert admission > 5 * decode


@pytest.mark.parametrize("name", ["pipe", "shared memory"])
def test_pipe_and_shared_memory_deliver_the_step(name: str) -> None:
    """The driver's send and a worker's receive, both ends in this process."""
    step = admission_step()
    driver_end, worker_end = mp.Pipe()
    shm = SharedMemory(create=True, size=len(pickle.dumps(step)))
    try:
        TRANSPORTS[name].send(step, [driver_end], shm)
        assert TRANSPORTS[name].receive(worker_end, shm) == step
    finally:
        driver_end.close()
        worker_end.close()
        shm.close()
        shm.unlink()


def test_shared_memory_sends_only_the_length_through_the_pipe() -> None:
    step = decode_step()
    driver_end, worker_end = mp.Pipe()
    shm = SharedMemory(create=True, size=len(pickle.dumps(step)))
    try:
        TRANSPORTS["shared memory"].send(step, [driver_end], shm)
        assert worker_end.recv_bytes() == len(pickle.dumps(step)).to_bytes(8, "little")
    finally:
        driver_end.close()
        worker_end.close()
        shm.close()
        shm.unlink()


def test_a_short_run_times_every_transport_on_every_message() -> None:
    rows = measure(2, messages=5, repeats=2, warmup=1)
    assert [(r["step"], r["transport"]) for r in rows] == \
        [(s, t) for s in ("decode", "admission") for t in TRANSPORTS]
    for r in rows:
        assert r["world_size"] == 2 and len(r["repeat_medians_us"]) == 2
        assert r["median_us"] == min(r["repeat_medians_us"]) > 0


def test_format_table() -> None:
    result = {
        "messages": 200, "repeats": 3, "machine": "2 x Some CPU", "python_version": "3.11.7",
        "torch_version": "2.13.0+cpu", "commit": "51f0fb88499e83204dfce32b35646f3f210a36e5",
        "date": "2026-12-03",
        "steps": [{"name": "decode", "label": "decode, 256 sequences", "bytes": 3999,
                   "pickle_us": 61.4},
                  {"name": "admission", "label": "admission, 8 x 1,024 tokens", "bytes": 27133,
                   "pickle_us": 220.2}],
        "rows": [{"world_size": 2, "step": step, "transport": t, "median_us": us}
                 for step, times in (("decode", (150.2, 700.0, 149.6)),
                                     ("admission", (330.0, 950.4, 340.0)))
                 for t, us in zip(("pipe", "broadcast_object_list", "shared memory"), times)],
    }
    assert format_table(result) == (
        "Median over 200 messages, best of 3 runs; 2 x Some CPU, Python 3.11.7, "
        "torch 2.13.0+cpu, commit `51f0fb8`, 2026-12-03.\n\n"
        "| ranks | step | message | pickle + unpickle (µs) | pipe (µs) "
        "| broadcast_object_list (µs) | shared memory (µs) |\n"
        "|---:|---|---:|---:|---:|---:|---:|\n"
        "| 2 | decode, 256 sequences | 3,999 B | 61 | 150 | 700 | **150** |\n"
        "| 2 | admission, 8 x 1,024 tokens | 27,133 B | 220 | **330** | 950 | 340 |\n")
