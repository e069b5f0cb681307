"""The iteration-level scheduler: which sequences run in the next model step, and the one place
where a sequence's state changes.

Every step it decides again (that is what "iteration-level" means): a sequence that finished in
the last step has already given back its KV blocks, and a waiting one can take them now, instead
of waiting for a whole batch to drain as a static batch does. That is continuous batching.

Policy (vLLM v1, chunked prefill): a step has one budget of ``max_num_batched_tokens`` tokens
and no phases. Running sequences are served first, oldest first: a decoding sequence takes one
token, a sequence part-way through its prompt its next chunk. Waiting sequences are then
admitted, oldest first, with chunks of what budget is left, within ``max_num_seqs`` and the free
KV blocks; the leading blocks the prefix cache already holds (M4) are taken as they are, and
only the rest of the prompt is computed. ``long_prefill_token_threshold`` caps one sequence's
chunk, so that one long prompt cannot take a whole step. When the blocks run out, the newest
running sequence is *preempted*: its blocks are freed and it goes back to the head of the queue,
to be recomputed from its tokens later (its blocks stay in the prefix cache until they are
evicted, so it often resumes from them); a step that preempted admits nobody.

With ``enable_chunked_prefill=False`` the scheduler keeps M3/M4's alternation, for comparison: a
step admits whole prompts if any fit (a *prefill* step), and otherwise decodes every running
sequence by one token.

After the model ran, ``update_from_output`` advances each sequence by what it computed, appends
the sampled tokens, applies the stop checks and frees the blocks of finished sequences: the
scheduler is the only writer of a sequence's tokens, counts and status (vLLM v1's
``Scheduler.update_from_output``; nano-vllm's ``Scheduler.postprocess``).

With async scheduling the engine schedules step N+1 before step N's results are applied, so a
sequence can have tokens *in flight*: scheduled, not yet applied (``num_inflight_tokens``), and
a sampled token on its way (``num_output_placeholders``, vLLM's name). The next step starts
after the in-flight tokens and computes the placeholder, whose id the runner takes from the
device. A sequence whose placeholder is certain to be its last token is not scheduled again;
one that stops for another reason (EOS, a stop string) has one more token computed and dropped.
Without async scheduling both counts are back at 0 whenever ``schedule`` runs.
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


# --8<-- [start:scheduled_seq]
@dataclass
class ScheduledSeq:
    request: Request
    seq: Sequence
    num_inflight_tokens: int = 0       # scheduled in a step whose results are not applied yet
    num_output_placeholders: int = 0   # tokens those steps sample, not known yet

    @property
    def next_start(self) -> int:
        """Where the sequence's next step starts: after its computed and in-flight tokens."""
        return self.seq.data.num_computed_tokens + self.num_inflight_tokens

    @property
    def num_tokens(self) -> int:
        """Its tokens, counting the sampled ones still on their way."""
        return self.seq.data.get_len() + self.num_output_placeholders
# --8<-- [end:scheduled_seq]


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


@dataclass
class SchedulerStats:
    """One step at a glance (vLLM's ``SchedulerStats``): the sequences running and waiting, and
    the step's tokens split into decodes (one token of a sequence whose prompt is computed) and
    prefill (prompt chunks, and the tokens a preempted sequence recomputes)."""

    num_running_seqs: int
    num_waiting_seqs: int
    num_decode_tokens: int
    num_prefill_tokens: int


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
        self._live: dict[int, ScheduledSeq] = {}    # every unfinished sequence, by id

    def add_request(self, request: Request) -> None:
        for seq in request.seqs:
            self.waiting.append(ScheduledSeq(request, seq))
            self._live[seq.seq_id] = self.waiting[-1]

    # --8<-- [start:schedule]
    def schedule(self) -> SchedulerOutput:
        """The next step's work (no sequences when nothing waits or runs)."""
        out = SchedulerOutput([], CachedSeqData(), {}, 0, self._finished_seq_ids)
        self._finished_seq_ids = set()
        budget = self.config.max_num_batched_tokens
        if not self.config.enable_chunked_prefill:     # M3/M4: a prefill step, else a decode
            if self._schedule_waiting(out, budget) == budget:
                self._schedule_running(out, budget)
        else:                                          # one budget: running first, then new
            budget, preempted = self._schedule_running(out, budget)
            if not preempted:
                self._schedule_waiting(out, budget)
        out.total_num_scheduled_tokens = sum(out.num_scheduled_tokens.values())
        return out

    def _chunk(self, s: ScheduledSeq, start: int, budget: int) -> int:
        """How many of the sequence's tokens from ``start`` on this step computes: all of them
        (one, for a decode), capped by ``long_prefill_token_threshold`` and the budget left."""
        n = s.num_tokens - start
        if self.config.long_prefill_token_threshold:
            n = min(n, self.config.long_prefill_token_threshold)
        return min(n, budget)
    # --8<-- [end:schedule]

    # --8<-- [start:running]
    def _schedule_running(self, out: SchedulerOutput, budget: int) -> tuple[int, bool]:
        """Every running sequence its next tokens, oldest first, while budget lasts; preempt
        the newest when the blocks run out. Returns the budget left and whether it preempted.

        Why the newest: under FCFS it has the lowest priority, and the oldest sequence always
        keeps its blocks, so it always progresses. (The newest is not always the cheapest to
        recompute: a sequence that comes back from a preemption is the newest again.)
        """
        queue, kept, preempted = deque(self.running), [], False
        while queue and budget > 0:
            current = queue.popleft()
            if self._finishes_in_flight(current):
                kept.append(current)
                continue
            n = self._chunk(current, current.next_start, budget)
            while (new := self.kv_cache_manager.allocate_slots(
                    current.seq.seq_id, current.next_start + n)) is None:
                preempted = True
                if queue:                       # someone newer holds blocks: take theirs
                    self._preempt(queue.pop())
                elif kept:                      # it is the newest itself
                    self._preempt(current)
                    break
                elif current.num_output_placeholders:  # alone: first let its token arrive
                    kept.append(current)
                    break
                else:                           # alone, and the whole cache is too small
                    self._finish(current, SequenceStatus.FINISHED_LENGTH_CAPPED)
                    self._capped.append(current)
                    break
            else:
                kept.append(current)
                self._add_to_output(out, current, n, new_block_ids=new)
                budget -= n
        self.running = kept + list(queue)   # the budget may not reach them all
        return budget, preempted

    def _finishes_in_flight(self, s: ScheduledSeq) -> bool:
        """True when the token on its way is certain to be the sequence's last (``max_tokens``
        or ``max_model_len``): scheduling it again would compute a token nobody gets."""
        if not s.num_output_placeholders:
            return False
        params, num_outputs = s.request.sampling_params, (s.seq.data.get_output_len()
                                                          + s.num_output_placeholders)
        return s.num_tokens >= self.max_model_len or (
            params.max_tokens is not None
            and num_outputs >= max(params.max_tokens, params.min_tokens))

    def _preempt(self, s: ScheduledSeq) -> None:
        """Preemption by recompute: free the blocks, requeue at the head (it is older than
        anything still waiting), and later prefill again the tokens the cache no longer has."""
        self.kv_cache_manager.free(s.seq.seq_id, keep_hashes=True)
        s.seq.status = SequenceStatus.PREEMPTED
        s.seq.data.reset_state_for_recompute()
        s.num_inflight_tokens = s.num_output_placeholders = 0   # an in-flight token still arrives
        self.waiting.appendleft(s)
        self.num_preemptions += 1
    # --8<-- [end:running]

    # --8<-- [start:waiting]
    def _schedule_waiting(self, out: SchedulerOutput, budget: int) -> int:
        """Admit waiting sequences, oldest first, with what budget is left; returns the budget
        left. Without chunked prefill only a whole prompt is admitted."""
        kv = self.kv_cache_manager
        while self.waiting and budget > 0 and len(self.running) < self.config.max_num_seqs:
            s = self.waiting[0]
            # a cached prefix needs no computing (M4); a preempted sequence recomputes the rest
            hits, num_hit = kv.get_computed_blocks(s.seq, s.request.cache_salt)
            n = self._chunk(s, num_hit, budget)
            if not self.config.enable_chunked_prefill and num_hit + n < s.seq.data.get_len():
                break
            if kv.allocate_slots(s.seq.seq_id, num_hit + n, hits,
                                 num_lookup_tokens=s.seq.data.get_len()) is None:
                break
            resumed = s.seq.status == SequenceStatus.PREEMPTED
            s.seq.status = SequenceStatus.RUNNING
            s.seq.data.num_computed_tokens = num_hit
            if s.request.num_cached_tokens is None:
                s.request.num_cached_tokens = num_hit
            self.running.append(self.waiting.popleft())
            self._add_to_output(out, s, n, resumed)
            budget -= n
        return budget
    # --8<-- [end:waiting]

    def _add_to_output(self, out: SchedulerOutput, s: ScheduledSeq, num_tokens: int,
                       resumed: bool = False, new_block_ids: list[int] | None = None) -> None:
        """Describe one scheduled sequence to the runner: in full the first time it runs,
        afterwards only what changed."""
        seq = s.seq
        out.num_scheduled_tokens[seq.seq_id] = num_tokens
        computed = s.next_start
        if num_tokens == 1 and computed >= seq.data.get_prompt_len():
            out.num_decode_tokens += 1
        s.num_inflight_tokens += num_tokens
        if computed + num_tokens == s.num_tokens:   # it reaches its end: the step samples
            s.num_output_placeholders += 1
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
        gains its sampled token and is checked for a stop (a prompt chunk that ends inside the
        prompt samples nothing, and is not reported); finished sequences free their blocks at
        once, for the very next step to reuse. Requests the runner failed on finish as
        aborted.

        With async scheduling a sequence may have finished (a stop, an abort) while the step
        ran: its token is dropped. One preempted while the step ran keeps the token it sampled
        (the runner has appended it too) and recomputes the rest."""
        updates = [SequenceUpdate(s.request, s.seq) for s in self._capped]
        self._capped = []
        for request, error in self._failed_requests(scheduler_output, runner_output):
            updates += self._abort(request, error)
        ro, finished_waiting = runner_output, False
        for seq_id, tokens, logprob in zip(ro.seq_ids, ro.sampled_token_ids, ro.sampled_logprobs):
            s = self._live.get(seq_id)
            if s is None:
                continue  # finished while the step ran, or its request failed
            if s.seq.status == SequenceStatus.RUNNING:   # not preempted since it was scheduled
                n = scheduler_output.num_scheduled_tokens[seq_id]
                s.num_inflight_tokens -= n
                s.num_output_placeholders -= bool(tokens)
                s.seq.data.num_computed_tokens += n
                self.kv_cache_manager.cache_blocks(s.seq, s.request.cache_salt)
            if not tokens:
                continue   # a prompt chunk that ends inside the prompt: nothing to report
            update = SequenceUpdate(s.request, s.seq, tokens, ro.logprobs.get(seq_id))
            s.seq.data.append_token_id(tokens[0], logprob)
            status, update.stop_reason = check_stop(s.seq, s.request.sampling_params,
                                                    self.max_model_len)
            if status is not None:
                finished_waiting |= s.seq.status == SequenceStatus.PREEMPTED
                self._finish(s, status)
            updates.append(update)
        self.running = [s for s in self.running if not s.seq.is_finished()]
        if finished_waiting:
            self.waiting = deque(s for s in self.waiting if not s.seq.is_finished())
        return updates
    # --8<-- [end:update_from_output]

    def _failed_requests(self, scheduler_output: SchedulerOutput,
                         runner_output: ModelRunnerOutput) -> list[tuple[Request, str]]:
        """The requests the runner failed on, found through the sequences of that step: with
        async scheduling the failure arrives a step late, and by then its request may have
        been aborted and its id given to a new request, which must not pay for it."""
        if not runner_output.errors:
            return []
        failed: dict[int, tuple[Request, str]] = {}
        for seq_id in scheduler_output.num_scheduled_tokens:
            s = self._live.get(seq_id)
            if s is not None and s.request.request_id in runner_output.errors:
                failed[id(s.request)] = (s.request, runner_output.errors[s.request.request_id])
        return list(failed.values())

    def abort_unapplied(self, steps: list[SchedulerOutput], error: str) -> list[SequenceUpdate]:
        """End the requests of steps whose results will never be applied (the step was
        interrupted): their tokens stay in flight otherwise, and nothing could schedule them
        again. They finish as aborted, with ``error``; the other requests are untouched."""
        updates = []
        for step in steps:
            requests = {id(s.request): s.request for i in step.num_scheduled_tokens
                        if (s := self._live.get(i)) is not None}
            for request in requests.values():
                updates += self._abort(request, error)
        return updates

    def _abort(self, request: Request, error: str) -> list[SequenceUpdate]:
        return [SequenceUpdate(s.request, s.seq, error=error) for s in self._finish_where(
            lambda s: s.request is request, SequenceStatus.FINISHED_ABORTED)]

    def make_stats(self, out: SchedulerOutput) -> SchedulerStats:
        """The step ``out`` describes, with the queues as they stand before it is applied."""
        return SchedulerStats(len(self.running), len(self.waiting), out.num_decode_tokens,
                              out.total_num_scheduled_tokens - out.num_decode_tokens)

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
        self._live.pop(s.seq.seq_id, None)


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
