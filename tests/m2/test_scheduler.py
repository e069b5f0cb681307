"""Scheduler units and hypothesis-driven random add/abort/step sequences.

Since M3 the scheduler's memory budget is KV blocks instead of M2's slots; these tests keep M2's
rules (FCFS, budgets, reuse at once, abort) with blocks. Preemption is M3's and is tested in
``tests/m3``. Each step goes through the scheduler's real interface: ``schedule()``, then a
runner output with one sampled token per scheduled sequence into ``update_from_output``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from folovllm.core.scheduler import Scheduler
from folovllm.core.scheduler_output import (
    CachedSeqData,
    ModelRunnerOutput,
    NewSeqData,
    SchedulerOutput,
)
from folovllm.sampling_params import SamplingParams
from folovllm.sequence import Request, Sequence, SequenceStatus
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


def _sched(**kwargs) -> Scheduler:
    """M2's policy, prefill steps and decode steps (M5's chunked prefill is tested in m5)."""
    return make_scheduler(chunked=False, **kwargs)


def _free(s: Scheduler) -> int:
    return s.kv_cache_manager.num_free_blocks()


def _new_request_ids(out: SchedulerOutput) -> list[str]:
    return [n.request_id for n in out.scheduled_new_seqs]


def test_fcfs_prefill_under_token_budget() -> None:
    s = _sched(tokens=100)
    reqs = [_req(40), _req(40), _req(40)]
    for r in reqs:
        s.add_request(r)
    out, _ = step(s)
    assert _new_request_ids(out) == [r.request_id for r in reqs[:2]]
    assert not out.scheduled_cached_seqs.seq_ids
    assert list(out.num_scheduled_tokens.values()) == [40, 40]   # whole prompts
    assert out.total_num_scheduled_tokens == 80
    out, _ = step(s)  # the third fits now (fresh budget)
    assert _new_request_ids(out) == [reqs[2].request_id] and not out.scheduled_cached_seqs.seq_ids
    out, _ = step(s)  # nothing waits: decode everything
    assert not out.scheduled_new_seqs
    assert out.scheduled_cached_seqs.seq_ids == [r.seqs[0].seq_id for r in reqs]
    assert list(out.num_scheduled_tokens.values()) == [1, 1, 1]
    assert out.total_num_scheduled_tokens == 3


def test_max_num_seqs_and_blocks_bound_admission() -> None:
    s = _sched(seqs=2)
    reqs = [_req(5) for _ in range(3)]
    for r in reqs:
        s.add_request(r)
    out, _ = step(s)
    assert len(scheduled_ids(out)) == 2
    out, _ = step(s)  # the third waits for a sequence to finish
    assert not out.scheduled_new_seqs and [w.request for w in s.waiting] == [reqs[2]]
    s2 = _sched(seqs=8, blocks=3, block_size=4)  # a 5-token prompt takes 2 blocks of 4
    s2.add_request(_req(5))
    s2.add_request(_req(5))
    out, _ = step(s2)
    assert len(scheduled_ids(out)) == 1 and _free(s2) == 1


def test_finished_blocks_are_reused_by_the_next_step() -> None:
    s = _sched(seqs=4, blocks=1)
    a, b = _req(5), _req(5)
    s.add_request(a)
    s.add_request(b)
    step(s)
    kv, a_id = s.kv_cache_manager, a.seqs[0].seq_id
    held = kv.get_block_ids(a_id)
    out, updates = step(s, finish_with_eos(a.seqs[0]))  # b waits: no free block; a samples EOS
    assert scheduled_ids(out) == [a_id]
    assert a.seqs[0].status == SequenceStatus.FINISHED_STOPPED
    assert [u.new_token_ids for u in updates] == [[EOS]]
    assert kv.get_block_ids(a_id) == [] and _free(s) == 1   # freed at once, in the same step
    nxt, _ = step(s)
    assert [n.seq_id for n in nxt.scheduled_new_seqs] == [b.seqs[0].seq_id]
    assert nxt.scheduled_new_seqs[0].block_ids == held == kv.get_block_ids(b.seqs[0].seq_id)
    assert nxt.finished_seq_ids == {a_id}   # the runner is told to forget a


def test_abort_waiting_and_running() -> None:
    s = _sched()
    a, b = _req(5, best_of=2), _req(5)
    s.add_request(a)
    step(s)
    s.add_request(b)
    touched = s.finish_requests([a.request_id], SequenceStatus.FINISHED_ABORTED)
    assert len(touched) == 2 and all(x.status == SequenceStatus.FINISHED_ABORTED for x in a.seqs)
    [aborted] = s.finish_requests([b.request_id], SequenceStatus.FINISHED_ABORTED)
    assert aborted.seq.status == SequenceStatus.FINISHED_ABORTED
    assert not has_unfinished(s) and _free(s) == 64
    out = s.schedule()
    assert not out.num_scheduled_tokens
    assert out.finished_seq_ids == {x.seq_id for x in (*a.seqs, *b.seqs)}


def test_update_applies_counts_tokens_and_stops() -> None:
    """The scheduler is the only writer: computed counts advance by the scheduled tokens, the
    sampled token is appended with its logprob, and a stop token id finishes the sequence."""
    s = _sched()
    r = Request.create("stopper", None, [1, 2, 3],
                       SamplingParams(temperature=0, stop_token_ids=[7]), 0, eos_token_id=EOS)
    s.add_request(r)
    seq = r.seqs[0]
    out = s.schedule()
    ro = ModelRunnerOutput([seq.seq_id], [[5]], [-0.5])
    [u] = s.update_from_output(out, ro)
    assert (seq.data.num_computed_tokens, seq.data.output_token_ids) == (3, [5])
    assert seq.data.cumulative_logprob == -0.5 and u.new_token_ids == [5] and u.stop_reason is None
    out = s.schedule()
    [u] = s.update_from_output(out, ModelRunnerOutput([seq.seq_id], [[7]], [-0.25]))
    assert seq.data.num_computed_tokens == 4 and seq.data.output_token_ids == [5, 7]
    assert seq.status == SequenceStatus.FINISHED_STOPPED and u.stop_reason == 7
    assert not s.running and _free(s) == 64


def test_plain_data_check_finds_live_objects() -> None:
    """The walker used below does see a sequence hidden in a nested field."""
    r = _req(3)
    leaky = SchedulerOutput([], CachedSeqData(seq_ids=[r.seqs[0]]), {}, 0, set())
    assert plain_data_problems(leaky) == ["out.scheduled_cached_seqs.seq_ids[0]: Sequence"]
    new = NewSeqData(1, "x", 0, (1, 2), SamplingParams(), [0], 0)
    assert plain_data_problems(SchedulerOutput([new], CachedSeqData(), {1: 2}, 2, {4})) == []


ops = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(1, 60), st.integers(1, 3)),
    st.tuples(st.just("abort"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("step"), st.integers(0, 3), st.just(0)),
), max_size=60)


@settings(max_examples=150, deadline=None)
@given(ops=ops, max_seqs=st.integers(1, 6), tokens=st.integers(60, 200))
def test_random_operations_keep_the_invariants(ops, max_seqs, tokens) -> None:
    """Budgets never exceeded, no block held twice or by a finished sequence, every scheduler
    output is plain data, every request ends.

    The cache is big enough that nothing is preempted (M3's random test covers preemption)."""
    blocks = 6 * 4
    s = _sched(seqs=max_seqs, tokens=tokens, blocks=blocks, block_size=16)
    kv = s.kv_cache_manager
    reqs: list[Request] = []
    seqs: dict[int, Sequence] = {}
    remaining: dict[int, int] = {}

    def run_step(finish_every: int) -> None:
        out = s.schedule()
        assert plain_data_problems(out) == []
        assert len(s.running) <= max_seqs
        assert out.total_num_scheduled_tokens == sum(out.num_scheduled_tokens.values()) <= tokens
        held = [b for x in s.running for b in kv.get_block_ids(x.seq.seq_id)]
        assert len(set(held)) == len(held) and s.num_preemptions == 0
        assert all(not seqs[i].is_finished() for i in scheduled_ids(out))

        def token(seq_id: int) -> int:  # each sequence generates a token; EOS when its time is up
            remaining[seq_id] = remaining.get(seq_id, 1 + finish_every) - 1
            return EOS if remaining[seq_id] <= 0 else TOKEN

        s.update_from_output(out, ModelRunnerOutput(
            scheduled_ids(out), [[token(i)] for i in scheduled_ids(out)],
            [0.0] * len(out.num_scheduled_tokens)))
        assert all(seqs[i].is_finished() == (remaining[i] <= 0) for i in scheduled_ids(out))
        assert _free(s) + sum(len(kv.get_block_ids(x.seq.seq_id)) for x in s.running) == blocks

    for op, a, b in ops:
        if op == "add":
            r = _req(a, best_of=b)
            reqs.append(r)
            seqs.update((x.seq_id, x) for x in r.seqs)
            s.add_request(r)
        elif op == "abort" and reqs:
            s.finish_requests([reqs[a % len(reqs)].request_id], SequenceStatus.FINISHED_ABORTED)
        elif op == "step":
            run_step(a)
    for _ in range(10_000):
        if not has_unfinished(s):
            break
        run_step(1)
    assert not has_unfinished(s) and _free(s) == blocks
    assert all(r.is_finished() for r in reqs)
