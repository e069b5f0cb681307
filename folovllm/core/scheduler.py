"""The iteration-level scheduler: which sequences run in the next model step.

Every step it decides again (that is what "iteration-level" means): a sequence that finished in
the last step has already given back its KV slot, and a waiting one can take it now, instead of
waiting for a whole batch to drain as a static batch does. That is continuous batching.

Policy (as in nano-vllm, prefill first): if waiting sequences can be admitted, the step is a
*prefill* of as many of them as fit, oldest first, under three budgets — ``max_num_seqs`` running
sequences, ``max_num_batched_tokens`` prompt tokens in the step, and free KV slots. Otherwise the
step *decodes* every running sequence by one token. M5 replaces this alternation with one token
budget shared by prefill chunks and decodes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from folovllm.config import SchedulerConfig
from folovllm.sequence import Request, Sequence, SequenceStatus


@dataclass
class ScheduledSeq:
    request: Request
    seq: Sequence
    slot: int


@dataclass
class SchedulerOutput:
    """One step's work: the sequences, in the order their tokens appear in the flat batch."""

    scheduled: list[ScheduledSeq]
    is_prefill: bool
    num_batched_tokens: int


class Scheduler:
    def __init__(self, config: SchedulerConfig, num_slots: int, static_batching: bool = False) -> None:
        """``static_batching`` admits new sequences only when nothing runs (the M1 behaviour, kept
        for the ``transformers`` runner, whose padded batch cannot take new rows)."""
        self.config = config
        self.static_batching = static_batching
        self.waiting: deque[tuple[Request, Sequence]] = deque()
        self.running: list[ScheduledSeq] = []
        self.free_slots: list[int] = list(range(num_slots - 1, -1, -1))  # pop() gives slot 0 first
        self.num_slots = num_slots

    def add_request(self, request: Request) -> None:
        for seq in request.seqs:
            self.waiting.append((request, seq))

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.running)

    # --8<-- [start:schedule]
    def schedule(self) -> SchedulerOutput | None:
        """The next step's work, or None when nothing waits or runs."""
        prefill = self._admit()
        if prefill:
            return SchedulerOutput(prefill, True, sum(s.seq.data.get_len() for s in prefill))
        if self.running:
            return SchedulerOutput(list(self.running), False, len(self.running))
        return None

    def _admit(self) -> list[ScheduledSeq]:
        if self.static_batching and self.running:
            return []
        admitted: list[ScheduledSeq] = []
        tokens = 0
        while self.waiting and self.free_slots:
            request, seq = self.waiting[0]
            if len(self.running) + len(admitted) >= self.config.max_num_seqs:
                break
            if tokens + seq.data.get_len() > self.config.max_num_batched_tokens:
                break
            self.waiting.popleft()
            seq.status = SequenceStatus.RUNNING
            scheduled = ScheduledSeq(request, seq, self.free_slots.pop())
            admitted.append(scheduled)
            tokens += seq.data.get_len()
        self.running.extend(admitted)
        return admitted
    # --8<-- [end:schedule]

    # --8<-- [start:free_finished]
    def free_finished(self) -> None:
        """Give the KV slots of finished sequences back at once, for the next step to reuse."""
        keep = []
        for s in self.running:
            if s.seq.is_finished():
                self.free_slots.append(s.slot)
            else:
                keep.append(s)
        self.running = keep
    # --8<-- [end:free_finished]

    def abort_request(self, request_id: str) -> list[Sequence]:
        """Finish every sequence of the request as aborted; returns the sequences it touched."""
        touched = [seq for request, seq in self.waiting if request.request_id == request_id]
        self.waiting = deque(item for item in self.waiting if item[0].request_id != request_id)
        touched += [s.seq for s in self.running if s.request.request_id == request_id]
        for seq in touched:
            if not seq.is_finished():
                seq.status = SequenceStatus.FINISHED_ABORTED
        self.free_finished()
        return touched
