"""Scheduler preemption by recompute, and random operations that keep block ownership right."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler import Scheduler, SchedulerOutput
from folovllm.sequence import Request, SequenceStatus

_ids = itertools.count()


def _req(prompt_len: int, best_of: int = 1) -> Request:
    params = SamplingParams(n=best_of, temperature=1.0 if best_of > 1 else 0)
    return Request.create(f"r{next(_ids)}", None, list(range(1, prompt_len + 1)), params,
                          first_seq_id=next(_ids) * 100)


def _sched(blocks: int, block_size: int = 4, seqs: int = 8, tokens: int = 256) -> Scheduler:
    return Scheduler(SchedulerConfig(max_num_seqs=seqs, max_num_batched_tokens=tokens),
                     KVCacheManager(blocks, block_size))


def _generate(out: SchedulerOutput) -> None:
    """What the engine does after a step: each scheduled sequence gains one token."""
    for s in out.scheduled:
        s.seq.data.append_token_id(3, 0.0)
        s.seq.data.num_computed_tokens = s.seq.data.get_len() - 1


def test_the_newest_sequences_are_preempted_and_requeued_in_arrival_order() -> None:
    s = _sched(blocks=3)            # 12 tokens of cache
    a, b, later = _req(4), _req(4), _req(1)
    s.add_request(a)
    s.add_request(b)
    out = s.schedule()              # a and b: one full block each
    assert out.is_prefill and len(out.scheduled) == 2
    _generate(out)
    s.add_request(later)            # takes the last block
    _generate(s.schedule())
    out = s.schedule()              # a and b each need a second block, none is free:
    # a takes later's (the newest), then b, now the newest itself, gives its own to nobody
    assert [p.request for p in out.preempted] == [later, b]
    assert [x.request for x in out.scheduled] == [a] and len(a.seqs[0].block_ids) == 2
    assert [w.request for w in s.waiting] == [b, later]  # back in arrival order, at the head
    for r in (b, later):
        seq = r.seqs[0]
        assert seq.status == SequenceStatus.PREEMPTED and seq.block_ids == []
        assert seq.data.num_computed_tokens == 0 and seq.data.get_output_len() == 1
    assert s.num_preemptions == 2


def test_oldest_keeps_running_and_preempted_one_recomputes_all_tokens() -> None:
    s = _sched(blocks=3, block_size=2)  # 6 tokens of cache
    a, b = _req(1), _req(1)
    s.add_request(a)
    s.add_request(b)
    _generate(s.schedule())             # both prefilled: 1 block each, 1 free
    out = s.schedule()                  # position 1 still fits in each first block
    assert not out.preempted and len(out.scheduled) == 2
    _generate(out)
    out = s.schedule()                  # both need a second block: a gets it, b is preempted
    assert [p.request for p in out.preempted] == [b] and [x.request for x in out.scheduled] == [a]
    _generate(out)
    out = s.schedule()                  # b needs 2 blocks to come back, 1 is free: a decodes
    assert not out.is_prefill and [x.request for x in out.scheduled] == [a]
    a.seqs[0].status = SequenceStatus.FINISHED_STOPPED
    s.free_finished()
    out = s.schedule()                  # b returns as a prefill of all 3 of its tokens
    assert out.is_prefill and out.scheduled[0].request is b and out.num_batched_tokens == 3
    assert b.seqs[0].status == SequenceStatus.RUNNING and len(b.seqs[0].block_ids) == 2


def test_a_sequence_alone_that_outgrows_the_whole_cache_is_capped() -> None:
    s = _sched(blocks=2, block_size=2)  # 4 tokens in all
    r = _req(3)
    s.add_request(r)
    _generate(s.schedule())             # 4 tokens: the cache is full
    out = s.schedule()                  # position 3's K/V still fits
    _generate(out)
    out = s.schedule()                  # position 4 does not, and nobody else can be preempted
    assert out.capped and out.capped[0].request is r and not out.scheduled
    assert r.seqs[0].status == SequenceStatus.FINISHED_LENGTH_CAPPED
    assert s.kv_cache_manager.num_free_blocks() == 2 and not s.has_unfinished()


ops = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(1, 20), st.integers(1, 3)),
    st.tuples(st.just("abort"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("step"), st.integers(0, 12), st.just(0)),
), max_size=80)


@settings(max_examples=200, deadline=None)
@given(ops=ops, blocks=st.integers(6, 24), block_size=st.sampled_from([1, 2, 4, 16]),
       max_seqs=st.integers(1, 6))
def test_random_add_finish_abort_preempt_keep_block_ownership(ops, blocks, block_size,
                                                               max_seqs) -> None:
    """At every step: a block has at most one owner, only running sequences own blocks, free +
    owned == total, each running sequence owns exactly the blocks its tokens need; at the end
    every request is finished and every block is free."""
    s = _sched(blocks=blocks, block_size=block_size, seqs=max_seqs, tokens=64)
    kv = s.kv_cache_manager
    reqs: list[Request] = []
    target: dict[int, int] = {}

    def check(scheduled: frozenset[int] = frozenset()) -> None:
        """A sequence scheduled this step has slots for all its tokens; any other running one
        for all but its last (whose K/V its next decode writes)."""
        owned = [b for x in s.running for b in x.seq.block_ids]
        assert len(owned) == len(set(owned))
        assert kv.num_free_blocks() + len(owned) == blocks
        assert all(not x.seq.block_ids for x in s.waiting)
        for x in s.running:
            pending = 0 if x.seq.seq_id in scheduled else 1
            assert len(x.seq.block_ids) == kv.num_blocks_for(x.seq.data.get_len() - pending)

    def step(length: int) -> None:
        out = s.schedule()
        if out is None:
            return
        assert all(x.seq.status == SequenceStatus.RUNNING for x in out.scheduled)
        check(frozenset(x.seq.seq_id for x in out.scheduled))
        _generate(out)
        for x in out.scheduled:
            total = target.setdefault(x.seq.seq_id, x.seq.data.get_prompt_len() + 1 + length)
            if x.seq.data.get_len() >= total:
                x.seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
        s.free_finished()
        check()

    for op, a, b in ops:
        if op == "add" and kv.num_blocks_for(a) <= blocks:  # the engine refuses larger prompts
            r = _req(a, best_of=b)
            reqs.append(r)
            s.add_request(r)
        elif op == "abort" and reqs:
            s.abort_request(reqs[a % len(reqs)].request_id)
            check()
        elif op == "step":
            step(a)
    for _ in range(20_000):
        if not s.has_unfinished():
            break
        step(4)
    assert not s.has_unfinished() and kv.num_free_blocks() == blocks
    assert all(r.is_finished() for r in reqs)
