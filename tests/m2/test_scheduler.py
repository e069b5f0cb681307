"""Scheduler units and hypothesis-driven random add/abort/step sequences.

Since M3 the scheduler's memory budget is KV blocks instead of M2's slots; these tests keep M2's
rules (FCFS, budgets, reuse at once, abort, static batching) with blocks. Preemption is M3's and
is tested in ``tests/m3``.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import Request, SequenceStatus

_ids = itertools.count()


def _req(prompt_len: int, best_of: int = 1) -> Request:
    params = SamplingParams(n=best_of, temperature=1.0 if best_of > 1 else 0)
    return Request.create(f"r{next(_ids)}", None, list(range(1, prompt_len + 1)), params,
                          first_seq_id=next(_ids) * 100)


def _sched(seqs=4, tokens=100, blocks=64, block_size=16, static=False) -> Scheduler:
    return Scheduler(SchedulerConfig(max_num_seqs=seqs, max_num_batched_tokens=tokens),
                     KVCacheManager(blocks, block_size), static_batching=static)


def _free(s: Scheduler) -> int:
    return s.kv_cache_manager.num_free_blocks()


def test_fcfs_prefill_under_token_budget() -> None:
    s = _sched(tokens=100)
    reqs = [_req(40), _req(40), _req(40)]
    for r in reqs:
        s.add_request(r)
    out = s.schedule()
    assert out.is_prefill and [x.request for x in out.scheduled] == reqs[:2]
    assert out.num_batched_tokens == 80
    out = s.schedule()  # the third fits now (fresh budget)
    assert out.is_prefill and [x.request for x in out.scheduled] == reqs[2:]
    out = s.schedule()  # nothing waits: decode everything
    assert not out.is_prefill and len(out.scheduled) == 3 and out.num_batched_tokens == 3


def test_max_num_seqs_and_blocks_bound_admission() -> None:
    s = _sched(seqs=2)
    for _ in range(3):
        s.add_request(_req(5))
    assert len(s.schedule().scheduled) == 2
    assert not s.schedule().is_prefill  # the third waits for a sequence to finish
    s2 = _sched(seqs=8, blocks=3, block_size=4)  # a 5-token prompt takes 2 blocks of 4
    s2.add_request(_req(5))
    s2.add_request(_req(5))
    assert len(s2.schedule().scheduled) == 1 and _free(s2) == 1


def test_finished_blocks_are_reused_by_the_next_step() -> None:
    s = _sched(seqs=4, blocks=1)
    a, b = _req(5), _req(5)
    s.add_request(a)
    s.add_request(b)
    s.schedule()
    held = list(a.seqs[0].block_ids)
    assert s.schedule().scheduled[0].seq is a.seqs[0]  # b waits: no free block
    a.seqs[0].status = SequenceStatus.FINISHED_STOPPED
    s.free_finished()
    assert a.seqs[0].block_ids == [] and _free(s) == 1
    nxt = s.schedule()
    assert nxt.is_prefill and nxt.scheduled[0].seq is b.seqs[0] and b.seqs[0].block_ids == held


def test_abort_waiting_and_running() -> None:
    s = _sched()
    a, b = _req(5, best_of=2), _req(5)
    s.add_request(a)
    s.schedule()
    s.add_request(b)
    touched = s.abort_request(a.request_id)
    assert len(touched) == 2 and all(x.status == SequenceStatus.FINISHED_ABORTED for x in a.seqs)
    assert s.abort_request(b.request_id)[0].status == SequenceStatus.FINISHED_ABORTED
    assert not s.has_unfinished() and _free(s) == 64


def test_static_batching_waits_for_the_batch_to_drain() -> None:
    s = _sched(static=True)
    a = _req(5)
    s.add_request(a)
    s.schedule()
    s.add_request(_req(5))
    assert not s.schedule().is_prefill
    a.seqs[0].status = SequenceStatus.FINISHED_STOPPED
    s.free_finished()
    assert s.schedule().is_prefill


ops = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(1, 60), st.integers(1, 3)),
    st.tuples(st.just("abort"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("step"), st.integers(0, 3), st.just(0)),
), max_size=60)


@settings(max_examples=150, deadline=None)
@given(ops=ops, max_seqs=st.integers(1, 6), tokens=st.integers(60, 200))
def test_random_operations_keep_the_invariants(ops, max_seqs, tokens) -> None:
    """Budgets never exceeded, no block held twice or by a finished sequence, every request ends.

    The cache is big enough that nothing is preempted (M3's random test covers preemption)."""
    blocks = 6 * 4
    s = _sched(seqs=max_seqs, tokens=tokens, blocks=blocks, block_size=16)
    reqs: list[Request] = []
    remaining: dict[int, int] = {}

    def step(finish_every: int) -> None:
        out = s.schedule()
        if out is None:
            return
        assert len(s.running) <= max_seqs
        if out.is_prefill:
            assert out.num_batched_tokens <= tokens
        held = [b for x in s.running for b in x.seq.block_ids]
        assert len(set(held)) == len(held) and not out.preempted
        assert all(not x.seq.is_finished() for x in out.scheduled)
        for x in out.scheduled:  # pretend each sequence generates a token
            remaining[x.seq.seq_id] = remaining.get(x.seq.seq_id, 1 + finish_every) - 1
            if remaining[x.seq.seq_id] <= 0:
                x.seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
        s.free_finished()
        assert _free(s) + sum(len(x.seq.block_ids) for x in s.running) == blocks

    for op, a, b in ops:
        if op == "add":
            r = _req(a, best_of=b)
            reqs.append(r)
            s.add_request(r)
        elif op == "abort" and reqs:
            s.abort_request(reqs[a % len(reqs)].request_id)
        elif op == "step":
            step(a)
    for _ in range(10_000):
        if not s.has_unfinished():
            break
        step(1)
    assert not s.has_unfinished() and _free(s) == blocks
    assert all(r.is_finished() for r in reqs)
