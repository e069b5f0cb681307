"""The iteration-level scheduler: which sequences run in the next model step.

Every step it decides again (that is what "iteration-level" means): a sequence that finished in
the last step has already given back its KV blocks, and a waiting one can take them now, instead
of waiting for a whole batch to drain as a static batch does. That is continuous batching.

Policy (as in nano-vllm, prefill first): if waiting sequences can be admitted, the step is a
*prefill* of as many of them as fit, oldest first, under three budgets — ``max_num_seqs`` running
sequences, ``max_num_batched_tokens`` prompt tokens in the step, and free KV blocks for the whole
prompt. Otherwise the step *decodes* every running sequence by one token, which needs a new block
for each sequence that has just filled its last one. When the blocks run out, the newest running
sequence is *preempted*: its blocks are freed and it goes back to the head of the queue, to be
recomputed from its tokens later. M5 replaces the prefill/decode alternation with one token budget.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.sequence import Request, Sequence, SequenceStatus


@dataclass
class ScheduledSeq:
    request: Request
    seq: Sequence


@dataclass
class SchedulerOutput:
    """One step's work: the sequences, in the order their tokens appear in the flat batch."""

    scheduled: list[ScheduledSeq]
    is_prefill: bool
    num_batched_tokens: int
    # sequences this step preempted (back in the queue) and ones finished because even the
    # whole cache cannot hold their next token (finish_reason "length")
    preempted: list[ScheduledSeq] = field(default_factory=list)
    capped: list[ScheduledSeq] = field(default_factory=list)


class Scheduler:
    def __init__(self, config: SchedulerConfig, kv_cache_manager: KVCacheManager,
                 static_batching: bool = False) -> None:
        """``static_batching`` admits new sequences only when nothing runs (the M1 behaviour, kept
        for the ``transformers`` runner, whose padded batch cannot take new rows)."""
        self.config = config
        self.kv_cache_manager = kv_cache_manager
        self.static_batching = static_batching
        self.waiting: deque[ScheduledSeq] = deque()
        self.running: list[ScheduledSeq] = []   # in admission order: the last is the newest
        self.num_preemptions = 0

    def add_request(self, request: Request) -> None:
        for seq in request.seqs:
            self.waiting.append(ScheduledSeq(request, seq))

    def has_unfinished(self) -> bool:
        return bool(self.waiting or self.running)

    # --8<-- [start:schedule]
    def schedule(self) -> SchedulerOutput | None:
        """The next step's work, or None when nothing waits or runs."""
        prefill = self._admit()
        if prefill:
            return SchedulerOutput(prefill, True, sum(s.seq.data.get_len() for s in prefill))
        if self.running:
            return self._schedule_decode()
        return None

    def _admit(self) -> list[ScheduledSeq]:
        if self.static_batching and self.running:
            return []
        admitted: list[ScheduledSeq] = []
        tokens = 0
        while self.waiting:
            seq = self.waiting[0].seq
            num_tokens = seq.data.get_len()   # a preempted sequence recomputes its outputs too
            if len(self.running) + len(admitted) >= self.config.max_num_seqs:
                break
            if tokens + num_tokens > self.config.max_num_batched_tokens:
                break
            if not self.kv_cache_manager.allocate_slots(seq, num_tokens):
                break
            seq.status = SequenceStatus.RUNNING
            admitted.append(self.waiting.popleft())
            tokens += num_tokens
        self.running.extend(admitted)
        return admitted
    # --8<-- [end:schedule]

    # --8<-- [start:decode]
    def _schedule_decode(self) -> SchedulerOutput:
        """One token for every running sequence, oldest first; preempt the newest when the
        blocks run out.

        Why the newest: under FCFS it has the lowest priority, and the oldest sequence always
        keeps its blocks, so it always progresses. (The newest is not always the cheapest to
        recompute: a sequence that comes back from a preemption is the newest again.)
        """
        out = SchedulerOutput([], False, 0)
        queue = deque(self.running)
        while queue:
            current = queue.popleft()
            while not self.kv_cache_manager.allocate_slots(current.seq, 1):
                if queue:                       # someone newer holds blocks: take theirs
                    self._preempt(queue.pop(), out)
                elif out.scheduled:             # it is the newest itself
                    self._preempt(current, out)
                    break
                else:                           # alone, and the whole cache is too small
                    self._cap(current, out)
                    break
            else:
                out.scheduled.append(current)
        self.running = list(out.scheduled)
        out.num_batched_tokens = len(out.scheduled)
        return out

    def _preempt(self, s: ScheduledSeq, out: SchedulerOutput) -> None:
        """Preemption by recompute: free the blocks, requeue at the head (it is older than
        anything still waiting), and later prefill all its tokens again."""
        self.kv_cache_manager.free(s.seq)
        s.seq.status = SequenceStatus.PREEMPTED
        s.seq.data.reset_state_for_recompute()
        self.waiting.appendleft(s)
        self.num_preemptions += 1
        out.preempted.append(s)

    def _cap(self, s: ScheduledSeq, out: SchedulerOutput) -> None:
        self.kv_cache_manager.free(s.seq)
        s.seq.status = SequenceStatus.FINISHED_LENGTH_CAPPED
        out.capped.append(s)
    # --8<-- [end:decode]

    # --8<-- [start:free_finished]
    def free_finished(self) -> None:
        """Give the KV blocks of finished sequences back at once, for the next step to reuse."""
        keep = []
        for s in self.running:
            if s.seq.is_finished():
                self.kv_cache_manager.free(s.seq)
            else:
                keep.append(s)
        self.running = keep
    # --8<-- [end:free_finished]

    def abort_request(self, request_id: str) -> list[Sequence]:
        """Finish every sequence of the request as aborted; returns the sequences it touched."""
        touched = [s.seq for s in self.waiting if s.request.request_id == request_id]
        self.waiting = deque(s for s in self.waiting if s.request.request_id != request_id)
        touched += [s.seq for s in self.running if s.request.request_id == request_id]
        for seq in touched:
            if not seq.is_finished():
                seq.status = SequenceStatus.FINISHED_ABORTED
        self.free_finished()
        return touched
