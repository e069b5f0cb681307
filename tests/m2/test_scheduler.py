"""Scheduler units and hypothesis-driven random add/abort/step sequences."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from folovllm import SamplingParams
from folovllm.config import SchedulerConfig
from folovllm.core.scheduler import Scheduler
from folovllm.sequence import Request, SequenceStatus

_ids = itertools.count()


def _req(prompt_len: int, best_of: int = 1) -> Request:
    params = SamplingParams(n=best_of, temperature=1.0 if best_of > 1 else 0)
    return Request.create(f"r{next(_ids)}", None, list(range(1, prompt_len + 1)), params,
                          first_seq_id=next(_ids) * 100)


def _sched(seqs=4, tokens=100, slots=4) -> Scheduler:
    return Scheduler(SchedulerConfig(max_num_seqs=seqs, max_num_batched_tokens=tokens), slots)


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


def test_max_num_seqs_and_slots_bound_admission() -> None:
    s = _sched(seqs=2, slots=4)
    for _ in range(3):
        s.add_request(_req(5))
    assert len(s.schedule().scheduled) == 2
    assert not s.schedule().is_prefill  # the third waits for a sequence to finish
    s2 = _sched(seqs=8, slots=1)
    s2.add_request(_req(5))
    s2.add_request(_req(5))
    assert len(s2.schedule().scheduled) == 1


def test_finished_slot_is_reused_by_the_next_step() -> None:
    s = _sched(seqs=4, slots=1)
    a, b = _req(5), _req(5)
    s.add_request(a)
    s.add_request(b)
    first = s.schedule().scheduled[0]
    assert s.schedule().scheduled[0].seq is a.seqs[0]  # b waits: no slot
    a.seqs[0].status = SequenceStatus.FINISHED_STOPPED
    s.free_finished()
    nxt = s.schedule()
    assert nxt.is_prefill and nxt.scheduled[0].seq is b.seqs[0] and nxt.scheduled[0].slot == first.slot


def test_abort_waiting_and_running() -> None:
    s = _sched()
    a, b = _req(5, best_of=2), _req(5)
    s.add_request(a)
    s.schedule()
    s.add_request(b)
    touched = s.abort_request(a.request_id)
    assert len(touched) == 2 and all(x.status == SequenceStatus.FINISHED_ABORTED for x in a.seqs)
    assert s.abort_request(b.request_id)[0].status == SequenceStatus.FINISHED_ABORTED
    assert not s.has_unfinished() and len(s.free_slots) == 4


def test_static_batching_waits_for_the_batch_to_drain() -> None:
    s = Scheduler(SchedulerConfig(max_num_seqs=4, max_num_batched_tokens=100), 4,
                  static_batching=True)
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
@given(ops=ops, max_seqs=st.integers(1, 6), slots=st.integers(1, 6), tokens=st.integers(60, 200))
def test_random_operations_keep_the_invariants(ops, max_seqs, slots, tokens) -> None:
    """Budgets never exceeded, no slot held twice or by a finished sequence, every request ends."""
    s = _sched(seqs=max_seqs, tokens=tokens, slots=slots)
    reqs: list[Request] = []
    remaining: dict[int, int] = {}

    def step(finish_every: int) -> None:
        out = s.schedule()
        if out is None:
            return
        assert len(s.running) <= max_seqs
        if out.is_prefill:
            assert out.num_batched_tokens <= tokens
        slots_used = [x.slot for x in s.running]
        assert len(set(slots_used)) == len(slots_used) and len(slots_used) <= slots
        assert all(not x.seq.is_finished() for x in out.scheduled)
        for x in out.scheduled:  # pretend each sequence generates a token
            remaining[x.seq.seq_id] = remaining.get(x.seq.seq_id, 1 + finish_every) - 1
            if remaining[x.seq.seq_id] <= 0:
                x.seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
        s.free_finished()
        assert len(s.free_slots) + len(s.running) == slots

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
    assert not s.has_unfinished() and len(s.free_slots) == slots
    assert all(r.is_finished() for r in reqs)
