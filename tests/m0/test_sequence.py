"""SequenceStatus state machine, SequenceData, Sequence.fork and Request."""

from __future__ import annotations

import itertools

import pytest

from folovllm import SamplingParams
from folovllm.outputs import CompletionOutput, RequestMetrics
from folovllm.sequence import (
    LEGAL_TRANSITIONS,
    IllegalTransitionError,
    Request,
    Sequence,
    SequenceData,
    SequenceStatus,
)

S = SequenceStatus


def _seq(status: SequenceStatus = S.WAITING) -> Sequence:
    return Sequence(0, SequenceData((1, 2, 3)), _status=status)


def test_is_finished_and_reasons() -> None:
    assert [s for s in S if S.is_finished(s)] == [
        S.FINISHED_STOPPED, S.FINISHED_LENGTH_CAPPED, S.FINISHED_ABORTED]
    assert S.get_finished_reason(S.FINISHED_STOPPED) == "stop"
    assert S.get_finished_reason(S.FINISHED_LENGTH_CAPPED) == "length"
    assert S.get_finished_reason(S.FINISHED_ABORTED) == "abort"
    assert S.get_finished_reason(S.RUNNING) is None


_ALL_PAIRS = list(itertools.product(S, S))


@pytest.mark.parametrize("src,dst", [p for p in _ALL_PAIRS if p[1] in LEGAL_TRANSITIONS[p[0]]],
                         ids=lambda s: s.name)
def test_legal_transitions(src, dst) -> None:
    seq = _seq(src)
    seq.status = dst
    assert seq.status == dst


@pytest.mark.parametrize("src,dst", [p for p in _ALL_PAIRS if p[1] not in LEGAL_TRANSITIONS[p[0]]],
                         ids=lambda s: s.name)
def test_illegal_transitions_raise(src, dst) -> None:
    seq = _seq(src)
    with pytest.raises(IllegalTransitionError, match=f"{src.name} -> {dst.name}"):
        seq.status = dst
    assert seq.status == src


def test_typical_life() -> None:
    seq = _seq()
    for nxt in (S.RUNNING, S.PREEMPTED, S.RUNNING, S.FINISHED_STOPPED):
        seq.status = nxt
    assert seq.is_finished()


def test_finished_states_are_terminal() -> None:
    for s in S:
        if S.is_finished(s):
            assert not LEGAL_TRANSITIONS[s]


def test_sequence_data_counts() -> None:
    d = SequenceData([5, 6, 7])
    assert d.prompt_token_ids == (5, 6, 7) and d.get_last_token_id() == 7
    d.append_token_id(8, -0.5)
    d.append_token_id(9, -1.0)
    assert d.get_token_ids() == [5, 6, 7, 8, 9] and d.get_last_token_id() == 9
    assert (d.get_len(), d.get_prompt_len(), d.get_output_len()) == (5, 3, 2)
    assert d.cumulative_logprob == pytest.approx(-1.5)
    d.num_computed_tokens = 4
    d.reset_state_for_recompute()
    assert d.num_computed_tokens == 0 and d.get_len() == 5  # every token is computed again
    assert d.get_token_ids() == [5, 6, 7, 8, 9] and d.cumulative_logprob == pytest.approx(-1.5)


def test_fork_is_independent() -> None:
    parent = _seq()
    parent.data.append_token_id(4, -0.1)
    parent.data.num_computed_tokens = 3
    child = parent.fork(1)
    child.data.append_token_id(5, -0.2)
    child.data.num_computed_tokens = 4
    child.status = S.RUNNING
    assert child.seq_id == 1 and parent.seq_id == 0
    assert parent.data.output_token_ids == [4] and child.data.output_token_ids == [4, 5]
    assert parent.data.cumulative_logprob == pytest.approx(-0.1)
    assert child.data.cumulative_logprob == pytest.approx(-0.3)
    assert parent.data.num_computed_tokens == 3
    assert parent.status == S.WAITING
    assert parent.data is not child.data


def test_request_holds_best_of_sequences() -> None:
    params = SamplingParams(n=2, best_of=3, temperature=0.7)
    req = Request.create("r0", "hi", [1, 2], params, first_seq_id=10, eos_token_id=0)
    assert [s.seq_id for s in req.seqs] == [10, 11, 12]
    assert all(s.data.prompt_token_ids == (1, 2) and s.eos_token_id == 0 for s in req.seqs)
    assert len({id(s.data) for s in req.seqs}) == 3
    assert req.num_unfinished_seqs() == 3 and not req.is_finished()
    assert all(s.status == S.WAITING for s in req.seqs)
    for s in req.seqs:
        s.status = S.FINISHED_ABORTED
    assert req.is_finished()


def test_request_rejects_empty_prompt() -> None:
    with pytest.raises(ValueError, match="the prompt is empty"):
        Request.create("r1", "", [], SamplingParams(), first_seq_id=0)


def test_metrics_and_outputs() -> None:
    m = RequestMetrics(arrival_time=10.0)
    assert m.ttft is None and m.tpot(5) is None and m.e2e_latency is None
    m.first_token_time, m.finished_time = 10.5, 12.5
    assert m.ttft == 0.5 and m.tpot(5) == 0.5 and m.e2e_latency == 2.5 and m.tpot(1) is None
    out = CompletionOutput(0, "hi", [1], -0.1, None)
    assert not out.finished()
    out.finish_reason = "stop"
    assert out.finished()
