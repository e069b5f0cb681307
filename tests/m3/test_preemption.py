"""Scheduler preemption by recompute, and random operations that keep block ownership right.

Every step goes through the scheduler's real interface (``tests/sched_helpers.py``): the
scheduler output, then one sampled token per scheduled sequence into ``update_from_output``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import ModelRunnerOutput
from folovllm.sequence import Request, SequenceStatus
from tests.sched_helpers import (
    EOS,
    TOKEN,
    finish_with_eos,
    has_unfinished,
    make_request,
    make_scheduler,
    plain_data_problems,
    scheduled_ids,
    step,
)

_req = make_request


def _sched(blocks: int, block_size: int = 4, seqs: int = 8, tokens: int = 256) -> Scheduler:
    """M3's policy, prefill steps and decode steps (M5's chunked prefill is tested in m5)."""
    return make_scheduler(seqs=seqs, tokens=tokens, blocks=blocks, block_size=block_size,
                          chunked=False)


def _record_frees(s: Scheduler) -> list[int]:
    """The ids of the sequences whose blocks are freed, in order, from now on."""
    kv, freed = s.kv_cache_manager, []
    free = kv.free

    def recording_free(seq_id: int, **kwargs) -> None:
        freed.append(seq_id)
        free(seq_id, **kwargs)

    kv.free = recording_free
    return freed


def test_the_newest_sequences_are_preempted_and_requeued_in_arrival_order() -> None:
    s = _sched(blocks=3)            # 12 tokens of cache
    kv = s.kv_cache_manager
    a, b, later = _req(4), _req(4), _req(1)
    s.add_request(a)
    s.add_request(b)
    out, _ = step(s)                # a and b: one full block each
    assert [n.seq_id for n in out.scheduled_new_seqs] == [a.seqs[0].seq_id, b.seqs[0].seq_id]
    s.add_request(later)            # takes the last block
    step(s)
    freed = _record_frees(s)
    out = s.schedule()              # a and b each need a second block, none is free:
    # a takes later's (the newest), then b, now the newest itself, gives its own to nobody
    assert freed == [later.seqs[0].seq_id, b.seqs[0].seq_id] and s.num_preemptions == 2
    assert scheduled_ids(out) == [a.seqs[0].seq_id] and len(kv.get_block_ids(a.seqs[0].seq_id)) == 2
    assert out.scheduled_cached_seqs.new_block_ids == [kv.get_block_ids(a.seqs[0].seq_id)[1:]]
    assert [w.request for w in s.waiting] == [b, later]  # back in arrival order, at the head
    for r in (b, later):
        seq = r.seqs[0]
        assert seq.status == SequenceStatus.PREEMPTED and kv.get_block_ids(seq.seq_id) == []
        assert seq.seq_id not in kv.seq_to_blocks
        assert seq.data.num_computed_tokens == 0 and seq.data.get_output_len() == 1


def test_oldest_keeps_running_and_preempted_one_recomputes_all_tokens() -> None:
    s = _sched(blocks=3, block_size=2)  # 6 tokens of cache
    kv = s.kv_cache_manager
    a, b = _req(1), _req(1)
    a_id, b_id = a.seqs[0].seq_id, b.seqs[0].seq_id
    s.add_request(a)
    s.add_request(b)
    step(s)                             # both prefilled: 1 block each, 1 free
    out, _ = step(s)                    # position 1 still fits in each first block
    assert s.num_preemptions == 0 and scheduled_ids(out) == [a_id, b_id]
    out, _ = step(s)                    # both need a second block: a gets it, b is preempted
    assert s.num_preemptions == 1 and scheduled_ids(out) == [a_id]
    assert [w.request for w in s.waiting] == [b] and b.seqs[0].status == SequenceStatus.PREEMPTED
    # b needs 2 blocks to come back, 1 is free: a decodes, and samples EOS
    out, _ = step(s, finish_with_eos(a.seqs[0]))
    assert not out.scheduled_new_seqs and scheduled_ids(out) == [a_id]
    assert out.scheduled_cached_seqs.resumed_from_preemption == [False]
    assert a.seqs[0].status == SequenceStatus.FINISHED_STOPPED
    out = s.schedule()                  # b returns as a prefill of all 3 of its tokens
    assert scheduled_ids(out) == [b_id] and out.total_num_scheduled_tokens == 3
    assert out.num_scheduled_tokens == {b_id: 3}
    assert b.seqs[0].status == SequenceStatus.RUNNING and len(kv.get_block_ids(b_id)) == 2


def test_a_resumed_sequence_is_sent_as_cached_with_its_whole_new_block_table() -> None:
    """The runner still holds a preempted sequence (its tokens, its generator), so it comes back
    as a cached sequence, flagged as resumed, with every block it now has: its old table is
    gone, and nothing has been computed into the new one yet."""
    s = _sched(blocks=3, block_size=2)
    kv = s.kv_cache_manager
    a, b = _req(1), _req(1)
    s.add_request(a)
    s.add_request(b)
    for _ in range(3):                  # the third step preempts b (see the test above)
        step(s)
    assert b.seqs[0].status == SequenceStatus.PREEMPTED
    step(s, finish_with_eos(a.seqs[0]))
    out = s.schedule()
    b_id = b.seqs[0].seq_id
    assert not out.scheduled_new_seqs   # never sent in full again
    cached = out.scheduled_cached_seqs
    assert cached.seq_ids == [b_id] and cached.resumed_from_preemption == [True]
    assert cached.new_block_ids == [kv.get_block_ids(b_id)] and len(cached.new_block_ids[0]) == 2
    assert cached.num_computed_tokens == [0]
    assert out.finished_seq_ids == {a.seqs[0].seq_id}
    [u] = s.update_from_output(out, ModelRunnerOutput([b_id], [[TOKEN]], [0.0]))
    assert b.seqs[0].data.num_computed_tokens == 3 and b.seqs[0].data.get_output_len() == 3
    out, _ = step(s)                    # a plain decode again: nothing resumed, no new block
    assert out.scheduled_cached_seqs.resumed_from_preemption == [False]
    assert out.scheduled_cached_seqs.num_computed_tokens == [3]


def test_a_sequence_alone_that_outgrows_the_whole_cache_is_capped() -> None:
    s = _sched(blocks=2, block_size=2)  # 4 tokens in all
    r = _req(3)
    s.add_request(r)
    step(s)                             # 4 tokens: the cache is full
    step(s)                             # position 3's K/V still fits
    out = s.schedule()                  # position 4 does not, and nobody else can be preempted
    assert not out.num_scheduled_tokens and out.total_num_scheduled_tokens == 0
    assert r.seqs[0].status == SequenceStatus.FINISHED_LENGTH_CAPPED
    [capped] = s.update_from_output(out, ModelRunnerOutput())  # reported with no new token
    assert capped.request is r and capped.seq is r.seqs[0] and capped.new_token_ids == []
    assert s.kv_cache_manager.num_free_blocks() == 2 and not has_unfinished(s)
    assert s.schedule().finished_seq_ids == {r.seqs[0].seq_id}


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
    owned == total, each running sequence owns exactly the blocks its tokens need, and a
    resumed sequence gets its whole table; at the end every request is finished and every block
    is free."""
    s = _sched(blocks=blocks, block_size=block_size, seqs=max_seqs, tokens=64)
    kv = s.kv_cache_manager
    reqs: list[Request] = []
    target: dict[int, int] = {}

    def check(scheduled: frozenset[int] = frozenset()) -> None:
        """A sequence scheduled this step has slots for all its tokens; any other running one
        for all but its last (whose K/V its next decode writes)."""
        owned = [b for x in s.running for b in kv.get_block_ids(x.seq.seq_id)]
        assert len(owned) == len(set(owned))
        assert kv.num_free_blocks() + len(owned) == blocks
        assert all(not kv.get_block_ids(x.seq.seq_id) for x in s.waiting)
        assert set(kv.seq_to_blocks) <= {x.seq.seq_id for x in s.running}
        for x in s.running:
            pending = 0 if x.seq.seq_id in scheduled else 1
            assert len(kv.get_block_ids(x.seq.seq_id)) == kv.num_blocks_for(
                x.seq.data.get_len() - pending)

    def run_step(length: int) -> None:
        out = s.schedule()
        assert plain_data_problems(out) == []
        running = {x.seq.seq_id: x.seq for x in s.running}
        assert set(scheduled_ids(out)) <= set(running)
        assert all(running[i].status == SequenceStatus.RUNNING for i in scheduled_ids(out))
        cached = out.scheduled_cached_seqs
        for i, resumed, ids in zip(cached.seq_ids, cached.resumed_from_preemption,
                                   cached.new_block_ids):
            if resumed:
                assert ids == kv.get_block_ids(i) and out.num_scheduled_tokens[i] == \
                    running[i].data.get_len()
        check(frozenset(scheduled_ids(out)))

        def token(seq_id: int) -> int:   # EOS once the sequence reaches its target length
            seq = running[seq_id]
            total = target.setdefault(seq_id, seq.data.get_prompt_len() + 1 + length)
            return EOS if seq.data.get_len() + 1 >= total else TOKEN

        s.update_from_output(out, ModelRunnerOutput(
            scheduled_ids(out), [[token(i)] for i in scheduled_ids(out)],
            [0.0] * len(out.num_scheduled_tokens)))
        check()

    for op, a, b in ops:
        if op == "add" and kv.num_blocks_for(a) <= blocks:  # the engine refuses larger prompts
            r = _req(a, best_of=b)
            reqs.append(r)
            s.add_request(r)
        elif op == "abort" and reqs:
            s.finish_requests([reqs[a % len(reqs)].request_id], SequenceStatus.FINISHED_ABORTED)
            check()
        elif op == "step":
            run_step(a)
    for _ in range(20_000):
        if not has_unfinished(s):
            break
        run_step(4)
    assert not has_unfinished(s) and kv.num_free_blocks() == blocks
    assert all(r.is_finished() for r in reqs)
