"""Requests and sequences: the units the scheduler moves and the runner computes.

A user's prompt becomes one ``Request``. A request owns ``best_of`` ``Sequence`` objects (one in
the common case): they share the prompt and the ``SamplingParams`` but each grows its own output.
A sequence's tokens live in ``SequenceData``, which is what the model runner reads; its life is the
``SequenceStatus`` state machine, which the scheduler drives. Illegal transitions raise, so a
scheduler bug shows up at the step that made it, not as a wrong answer much later.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field

from folovllm.outputs import RequestMetrics
from folovllm.sampling_params import SamplingParams


class SequenceStatus(enum.IntEnum):
    """Where a sequence is in its life. Values above ``PREEMPTED`` are the finished states."""

    WAITING = 0                 # queued, nothing computed yet
    RUNNING = 1                 # scheduled: holds KV memory and advances every step
    PREEMPTED = 2               # evicted to free KV memory; queued to be recomputed
    FINISHED_STOPPED = 3        # hit EOS, a stop token id or a stop string
    FINISHED_LENGTH_CAPPED = 4  # hit max_tokens or max_model_len
    FINISHED_ABORTED = 5        # cancelled by the user, or failed by the engine

    @staticmethod
    def is_finished(status: SequenceStatus) -> bool:
        return status > SequenceStatus.PREEMPTED

    @staticmethod
    def get_finished_reason(status: SequenceStatus) -> str | None:
        """The OpenAI/vLLM ``finish_reason`` string for a finished status."""
        return _FINISH_REASONS.get(status)


_FINISH_REASONS = {
    SequenceStatus.FINISHED_STOPPED: "stop",
    SequenceStatus.FINISHED_LENGTH_CAPPED: "length",
    SequenceStatus.FINISHED_ABORTED: "abort",
}

# --8<-- [start:transitions]
_S = SequenceStatus
_FINISHED_BY_RUNNING = {_S.FINISHED_STOPPED, _S.FINISHED_LENGTH_CAPPED, _S.FINISHED_ABORTED}
# Legal moves. Finished states are terminal. A preempted sequence goes back to the queue and is
# scheduled again (PREEMPTED -> RUNNING) when memory frees up. With async scheduling a token
# sampled just before the preemption arrives afterwards, and can still stop it.
LEGAL_TRANSITIONS: dict[SequenceStatus, frozenset[SequenceStatus]] = {
    _S.WAITING: frozenset({_S.RUNNING, _S.FINISHED_ABORTED}),
    _S.RUNNING: frozenset({_S.PREEMPTED, *_FINISHED_BY_RUNNING}),
    _S.PREEMPTED: frozenset({_S.RUNNING, *_FINISHED_BY_RUNNING}),
    **{s: frozenset() for s in _S if SequenceStatus.is_finished(s)},
}
# --8<-- [end:transitions]


class IllegalTransitionError(RuntimeError):
    """A component tried to move a sequence along an edge the state machine does not have."""


@dataclass
class SequenceData:
    """The token ids of one sequence and how many of them the KV cache already holds.

    ``num_computed_tokens`` is the boundary between tokens whose K/V are cached and tokens the next
    forward pass must process: a fresh prompt has 0, a decoding sequence has ``len - 1``, and
    preemption by recompute resets it to 0.
    """

    prompt_token_ids: tuple[int, ...]
    output_token_ids: list[int] = field(default_factory=list)
    cumulative_logprob: float = 0.0
    num_computed_tokens: int = 0

    def __post_init__(self) -> None:
        self.prompt_token_ids = tuple(self.prompt_token_ids)

    def append_token_id(self, token_id: int, logprob: float) -> None:
        self.output_token_ids.append(token_id)
        self.cumulative_logprob += logprob

    def get_len(self) -> int:
        return len(self.prompt_token_ids) + len(self.output_token_ids)

    def get_prompt_len(self) -> int:
        return len(self.prompt_token_ids)

    def get_output_len(self) -> int:
        return len(self.output_token_ids)

    def get_token_ids(self) -> list[int]:
        return [*self.prompt_token_ids, *self.output_token_ids]

    def get_last_token_id(self) -> int:
        return self.output_token_ids[-1] if self.output_token_ids else self.prompt_token_ids[-1]

    def reset_state_for_recompute(self) -> None:
        """Preemption by recompute: the KV cache is gone, every token must be processed again."""
        self.num_computed_tokens = 0


@dataclass
class Sequence:
    """One generated continuation: its tokens and its status, both written by the scheduler
    alone. Its text and logprobs are output processing's; its KV blocks, the KV cache
    manager's; the runner keeps its own copy of what it computes from."""

    seq_id: int
    data: SequenceData
    eos_token_id: int | None = None
    _status: SequenceStatus = SequenceStatus.WAITING

    # --8<-- [start:status_and_fork]
    @property
    def status(self) -> SequenceStatus:
        return self._status

    @status.setter
    def status(self, new: SequenceStatus) -> None:
        if new not in LEGAL_TRANSITIONS[self._status]:
            raise IllegalTransitionError(
                f"sequence {self.seq_id}: illegal transition {self._status.name} -> {new.name}"
            )
        self._status = new

    def is_finished(self) -> bool:
        return SequenceStatus.is_finished(self._status)

    def fork(self, new_seq_id: int) -> Sequence:
        """A deep copy under a new id: later appends to either never show in the other."""
        child = copy.deepcopy(self)
        child.seq_id = new_seq_id
        return child
    # --8<-- [end:status_and_fork]


@dataclass
class Request:
    """One prompt and its parameters, holding ``best_of`` sequences that share the prompt.

    vLLM v0 called this a ``SequenceGroup``; v1 calls it a ``Request``. The sequences are created
    by forking one template: each has its own ``SequenceData`` (the prompt tuple itself is
    immutable, so sharing it is safe).
    """

    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    sampling_params: SamplingParams
    seqs: list[Sequence]
    metrics: RequestMetrics  # written by output processing, as ``error``
    error: str | None = None  # why the engine failed it (finish_reason "abort"), if it did
    cache_salt: str | None = None  # isolates its prefix-cache entries from other tenants' (M4)
    num_cached_tokens: int | None = None  # prompt tokens found in the prefix cache (M4)

    # --8<-- [start:request_create]
    @classmethod
    def create(
        cls,
        request_id: str,
        prompt: str | None,
        prompt_token_ids: list[int],
        sampling_params: SamplingParams,
        first_seq_id: int,
        eos_token_id: int | None = None,
        arrival_time: float | None = None,
        cache_salt: str | None = None,
    ) -> Request:
        if not prompt_token_ids:
            raise ValueError(f"request {request_id!r}: the prompt is empty (no tokens)")
        template = Sequence(first_seq_id, SequenceData(tuple(prompt_token_ids)), eos_token_id)
        forks = [template.fork(first_seq_id + i) for i in range(1, sampling_params.best_of)]
        seqs = [template, *forks]
        metrics = RequestMetrics() if arrival_time is None else RequestMetrics(arrival_time)
        return cls(request_id, prompt, list(prompt_token_ids), sampling_params, seqs, metrics,
                   cache_salt=cache_salt)
    # --8<-- [end:request_create]

    def num_unfinished_seqs(self) -> int:
        return sum(not s.is_finished() for s in self.seqs)

    def is_finished(self) -> bool:
        return all(s.is_finished() for s in self.seqs)
