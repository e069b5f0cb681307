"""The iteration-level scheduler: which sequences run in the next model step, and the one place
where a sequence's state changes.

Every step it decides again (that is what "iteration-level" means): a sequence that finished in
the last step has already given back its KV blocks, and a waiting one can take them now, instead
of waiting for a whole batch to drain as a static batch does. That is continuous batching.

Policy (as in nano-vllm, prefill first): if waiting sequences can be admitted, the step is a
*prefill* of as many of them as fit, oldest first, under three budgets — ``max_num_seqs`` running
sequences, ``max_num_batched_tokens`` tokens in the step, and free KV blocks for the whole
prompt; the leading blocks that the prefix cache already holds (M4) are taken as they are, and
only the rest of the prompt is computed. Otherwise the step *decodes* every running sequence by
one token, which needs a new block for each sequence that has just filled its last one. When the
blocks run out, the newest running sequence is *preempted*: its blocks are freed and it goes back
to the head of the queue, to be recomputed from its tokens later (its blocks stay in the prefix
cache until they are evicted, so it often resumes from them). M5 replaces the prefill/decode
alternation with one token budget.

After the model ran, ``update_from_output`` advances each sequence by what it computed, appends
the sampled tokens, applies the stop checks and frees the blocks of finished sequences: the
scheduler is the only writer of a sequence's tokens, counts and status (vLLM v1's
``Scheduler.update_from_output``; nano-vllm's ``Scheduler.postprocess``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from folovllm.config import SchedulerConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler_output import (
    CachedSeqData,
    ModelRunnerOutput,
    NewSeqData,
    SampledLogprobs,
    SchedulerOutput,
)
from folovllm.sampling_params import SamplingParams
from folovllm.sequence import Request, Sequence, SequenceStatus


@dataclass
class ScheduledSeq:
    request: Request
    seq: Sequence


@dataclass
class SequenceUpdate:
    """What one step did to one sequence, for output processing: the tokens it gained, their
    logprobs, and, when it finished on a stop token id, that id."""

    request: Request
    seq: Sequence
    new_token_ids: list[int] = field(default_factory=list)
    logprobs: SampledLogprobs | None = None   # top-N entries, when the request asked
    stop_reason: int | None = None
    error: str | None = None


class Scheduler:
    def __init__(self, config: SchedulerConfig, kv_cache_manager: KVCacheManager,
                 max_model_len: int) -> None:
        self.config = config
        self.kv_cache_manager = kv_cache_manager
        self.max_model_len = max_model_len
        self.waiting: deque[ScheduledSeq] = deque()
        self.running: list[ScheduledSeq] = []   # in admission order: the last is the newest
        self.num_preemptions = 0
        self._finished_seq_ids: set[int] = set()   # since the last step, for the runner
        self._capped: list[ScheduledSeq] = []       # finished by schedule() itself

    def add_request(self, request: Request) -> None:
        for seq in request.seqs:
            self.waiting.append(ScheduledSeq(request, seq))

    # --8<-- [start:schedule]
    def schedule(self) -> SchedulerOutput:
        """The next step's work (no sequences when nothing waits or runs)."""
        out = SchedulerOutput([], CachedSeqData(), {}, 0, self._finished_seq_ids)
        self._finished_seq_ids = set()
        admitted = self._admit(out)
        if not admitted and self.running:
            self._schedule_decode(out)
        out.total_num_scheduled_tokens = sum(out.num_scheduled_tokens.values())
        return out

    def _admit(self, out: SchedulerOutput) -> bool:
        tokens = 0
        kv = self.kv_cache_manager
        while self.waiting:
            s = self.waiting[0]
            # a cached prefix needs no computing (M4); a preempted sequence recomputes the rest
            hits, num_hit = kv.get_computed_blocks(s.seq, s.request.cache_salt)
            num_new = s.seq.data.get_len() - num_hit
            if len(self.running) >= self.config.max_num_seqs:
                break
            if tokens + num_new > self.config.max_num_batched_tokens:
                break
            if kv.allocate_slots(s.seq.seq_id, s.seq.data.get_len(), hits) is None:
                break
            resumed = s.seq.status == SequenceStatus.PREEMPTED
            s.seq.status = SequenceStatus.RUNNING
            s.seq.data.num_computed_tokens = num_hit
            if s.request.num_cached_tokens is None:
                s.request.num_cached_tokens = num_hit
            self.running.append(self.waiting.popleft())
            self._add_to_output(out, s, num_new, resumed)
            tokens += num_new
        return tokens > 0
    # --8<-- [end:schedule]

    # --8<-- [start:decode]
    def _schedule_decode(self, out: SchedulerOutput) -> None:
        """One token for every running sequence, oldest first; preempt the newest when the
        blocks run out.

        Why the newest: under FCFS it has the lowest priority, and the oldest sequence always
        keeps its blocks, so it always progresses. (The newest is not always the cheapest to
        recompute: a sequence that comes back from a preemption is the newest again.)
        """
        queue, scheduled = deque(self.running), []
        while queue:
            current = queue.popleft()
            seq = current.seq
            while (new := self.kv_cache_manager.allocate_slots(
                    seq.seq_id, seq.data.get_len())) is None:
                if queue:                       # someone newer holds blocks: take theirs
                    self._preempt(queue.pop())
                elif scheduled:                 # it is the newest itself
                    self._preempt(current)
                    break
                else:                           # alone, and the whole cache is too small
                    self._finish(current, SequenceStatus.FINISHED_LENGTH_CAPPED)
                    self._capped.append(current)
                    break
            else:
                scheduled.append(current)
                self._add_to_output(out, current, 1, new_block_ids=new)
        self.running = scheduled

    def _preempt(self, s: ScheduledSeq) -> None:
        """Preemption by recompute: free the blocks, requeue at the head (it is older than
        anything still waiting), and later prefill again the tokens the cache no longer has."""
        self.kv_cache_manager.free(s.seq.seq_id, keep_hashes=True)
        s.seq.status = SequenceStatus.PREEMPTED
        s.seq.data.reset_state_for_recompute()
        self.waiting.appendleft(s)
        self.num_preemptions += 1
    # --8<-- [end:decode]

    def _add_to_output(self, out: SchedulerOutput, s: ScheduledSeq, num_tokens: int,
                       resumed: bool = False, new_block_ids: list[int] | None = None) -> None:
        """Describe one scheduled sequence to the runner: in full the first time it runs,
        afterwards only what changed."""
        seq = s.seq
        out.num_scheduled_tokens[seq.seq_id] = num_tokens
        computed = seq.data.num_computed_tokens
        if new_block_ids is None and not resumed:
            out.scheduled_new_seqs.append(NewSeqData(
                seq.seq_id, s.request.request_id, s.request.seqs.index(seq),
                seq.data.prompt_token_ids, s.request.sampling_params,
                self.kv_cache_manager.get_block_ids(seq.seq_id), computed))
            return
        cached = out.scheduled_cached_seqs
        cached.seq_ids.append(seq.seq_id)
        cached.resumed_from_preemption.append(resumed)
        cached.new_block_ids.append(self.kv_cache_manager.get_block_ids(seq.seq_id)
                                    if resumed else new_block_ids or [])
        cached.num_computed_tokens.append(computed)

    # --8<-- [start:update_from_output]
    def update_from_output(self, scheduler_output: SchedulerOutput,
                           runner_output: ModelRunnerOutput) -> list[SequenceUpdate]:
        """Apply a step's results: every scheduled sequence advances by the tokens it computed,
        gains its sampled token (a sequence whose prompt is not fully computed samples none),
        and is checked for a stop; finished sequences free their blocks at once, for the very
        next step to reuse. Requests the runner failed on finish as aborted."""
        updates = [SequenceUpdate(s.request, s.seq) for s in self._capped]
        self._capped = []
        by_id = {s.seq.seq_id: s for s in self.running}
        for request_id, error in runner_output.errors.items():
            for s in self.finish_requests([request_id], SequenceStatus.FINISHED_ABORTED):
                updates.append(SequenceUpdate(s.request, s.seq, error=error))
        ro = runner_output
        for seq_id, tokens, logprob in zip(ro.seq_ids, ro.sampled_token_ids, ro.sampled_logprobs):
            s = by_id[seq_id]
            if s.seq.is_finished():
                continue  # its request failed
            s.seq.data.num_computed_tokens += scheduler_output.num_scheduled_tokens[seq_id]
            self.kv_cache_manager.cache_blocks(s.seq, s.request.cache_salt)
            update = SequenceUpdate(s.request, s.seq, tokens, ro.logprobs.get(seq_id))
            if tokens:
                s.seq.data.append_token_id(tokens[0], logprob)
                status, update.stop_reason = check_stop(s.seq, s.request.sampling_params,
                                                        self.max_model_len)
                if status is not None:
                    self._finish(s, status)
            updates.append(update)
        self.running = [s for s in self.running if not s.seq.is_finished()]
        return updates
    # --8<-- [end:update_from_output]

    def finish_requests(self, request_ids: list[str], status: SequenceStatus
                        ) -> list[ScheduledSeq]:
        """Finish every unfinished sequence of the requests (abort, a failure); returns them."""
        ids = set(request_ids)
        return self._finish_where(lambda s: s.request.request_id in ids, status)

    def finish_seqs(self, seq_ids: list[int], status: SequenceStatus) -> list[ScheduledSeq]:
        """Finish single sequences (output processing found a stop string in one of them)."""
        ids = set(seq_ids)
        return self._finish_where(lambda s: s.seq.seq_id in ids, status)

    def _finish_where(self, match: Callable[[ScheduledSeq], bool],
                      status: SequenceStatus) -> list[ScheduledSeq]:
        touched = [s for s in (*self.waiting, *self.running) if match(s)]
        self.waiting = deque(s for s in self.waiting if not match(s))
        self.running = [s for s in self.running if not match(s)]
        for s in touched:
            self._finish(s, status)
        return touched

    def _finish(self, s: ScheduledSeq, status: SequenceStatus) -> None:
        """A finished sequence gives its blocks back now; the runner forgets it next step."""
        s.seq.status = status
        self.kv_cache_manager.free(s.seq.seq_id)
        self._finished_seq_ids.add(s.seq.seq_id)


# --8<-- [start:check_stop]
def check_stop(seq: Sequence, params: SamplingParams, max_model_len: int
               ) -> tuple[SequenceStatus | None, int | None]:
    """After a new token: the finished status and the stop token id (if one stopped it), or
    ``(None, None)`` to go on. In vLLM's order: nothing but ``max_model_len`` stops a sequence
    shorter than ``min_tokens``; then EOS (unless ``ignore_eos``), a ``stop_token_ids`` entry,
    ``max_tokens``, ``max_model_len``. Stop *strings* need text: output processing checks them.
    """
    data = seq.data
    too_long = data.get_len() >= max_model_len
    if data.get_output_len() < params.min_tokens:
        return (SequenceStatus.FINISHED_LENGTH_CAPPED if too_long else None), None
    last = data.get_last_token_id()
    if not params.ignore_eos and last == seq.eos_token_id:
        return SequenceStatus.FINISHED_STOPPED, None
    if last in params.stop_token_ids:
        return SequenceStatus.FINISHED_STOPPED, last
    if too_long or (params.max_tokens is not None and data.get_output_len() >= params.max_tokens):
        return SequenceStatus.FINISHED_LENGTH_CAPPED, None
    return None, None
# --8<-- [end:check_stop]
