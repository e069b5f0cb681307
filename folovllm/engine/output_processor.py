"""Output processing: a step's new tokens in, the user's ``RequestOutput`` objects out.

For each sequence it keeps what only the user sees: the detokenizer's window, the text so far,
the logprob entries, and the finish and stop reasons as reported (vLLM v1's
``OutputProcessor``). It never changes what the scheduler tracks; when the new text completes a
stop string it reports the sequence, and the engine has the scheduler finish it. A request whose
output cannot be processed (its detokenizer raised, say) is reported as failed, alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from folovllm.core.scheduler import SequenceUpdate
from folovllm.core.scheduler_output import SampledLogprobs
from folovllm.engine.detokenizer import DetokenizerState, IncrementalDetokenizer
from folovllm.engine.stop_checker import find_stop_string
from folovllm.outputs import CompletionOutput, Logprob, RequestOutput, SampleLogprobs
from folovllm.sampling_params import RequestOutputKind, SamplingParams
from folovllm.sequence import Request, Sequence, SequenceStatus

logger = logging.getLogger(__name__)


@dataclass
class SeqOutputState:
    """What the user sees of one sequence."""

    detok: DetokenizerState | None
    text: str = ""
    logprobs: SampleLogprobs = field(default_factory=list)
    stop_reason: int | str | None = None
    stop_string_hit: bool = False


@dataclass
class ProcessedUpdates:
    """The requests a step touched, and what the scheduler must be told."""

    requests: dict[str, Request]
    stopped_seq_ids: list[int]   # a stop string finished them
    failed: dict[str, str]       # request id -> why processing its output failed


class OutputProcessor:
    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.detokenizer = None if tokenizer is None else IncrementalDetokenizer(tokenizer)
        self.seq_states: dict[int, SeqOutputState] = {}

    def add_request(self, req: Request) -> None:
        skip = req.sampling_params.skip_special_tokens
        for seq in req.seqs:
            detok = None if self.detokenizer is None else self.detokenizer.init_state(
                seq.data.prompt_token_ids, skip)
            self.seq_states[seq.seq_id] = SeqOutputState(detok)

    # --8<-- [start:process_updates]
    def process_updates(self, updates: list[SequenceUpdate], now: float) -> ProcessedUpdates:
        """Detokenize each sequence's new tokens, build their logprob entries, and look for
        stop strings."""
        out = ProcessedUpdates({}, [], {})
        for u in updates:
            req = u.request
            if req.request_id in out.failed:
                continue
            out.requests[req.request_id] = req
            if u.error is not None:
                req.error = u.error
                continue
            try:
                if self._append(u, now):
                    out.stopped_seq_ids.append(u.seq.seq_id)
            except Exception as error:
                logger.exception("processing the output of request %r failed", req.request_id)
                out.failed[req.request_id] = req.error = f"{type(error).__name__}: {error}"
        return out

    def _append(self, u: SequenceUpdate, now: float) -> bool:
        """One sequence's new tokens into its text and logprobs; True when a stop string ends
        it while it still runs."""
        params, state = u.request.sampling_params, self.seq_states[u.seq.seq_id]
        if u.new_token_ids:
            u.request.metrics.record_token(now)
        if u.stop_reason is not None:
            state.stop_reason = u.stop_reason
        stopped_by_token = u.seq.status == SequenceStatus.FINISHED_STOPPED
        for token in u.new_token_ids:
            if params.logprobs is not None and u.logprobs is not None:
                state.logprobs.append(self._logprob_dict(token, u.logprobs, params.logprobs))
            if stopped_by_token and not params.include_stop_str_in_output:
                continue  # a stop token's text never reaches the user
            new_text = "" if state.detok is None else self.detokenizer.step(
                state.detok, token, params.skip_special_tokens)
            state.text += new_text
            if u.seq.data.get_output_len() >= params.min_tokens and not stopped_by_token:
                hit = find_stop_string(state.text, len(new_text), params.stop,
                                       params.include_stop_str_in_output)
                if hit is not None:
                    state.stop_reason, state.stop_string_hit = hit[0], True
                    state.text = state.text[:hit[1]]
                    return not u.seq.is_finished()
        return False
    # --8<-- [end:process_updates]

    def _logprob_dict(self, token: int, lp: SampledLogprobs, n: int) -> dict[int, Logprob]:
        entries = {t: Logprob(v, r + 1) for r, (t, v) in
                   enumerate(zip(lp.top_token_ids[:n], lp.top_logprobs[:n]))}
        entries.setdefault(token, Logprob(lp.logprob, lp.rank))
        for tid, entry in entries.items():
            entry.decoded_token = self.tokenizer.decode([tid])
        return entries

    def make_outputs(self, requests: list[Request], now: float) -> list[RequestOutput]:
        """The outputs the requests' callers get this step: every touched request that streams,
        and every one that finished (whose state is dropped)."""
        outputs = []
        for req in requests:
            finished = req.is_finished()
            if finished:
                req.metrics.finished_time = now
            elif req.sampling_params.output_kind == RequestOutputKind.FINAL_ONLY:
                continue
            outputs.append(self.make_output(req))
            if finished:
                self.remove_request(req)
        return outputs

    def remove_request(self, req: Request) -> None:
        for seq in req.seqs:
            self.seq_states.pop(seq.seq_id, None)

    def make_output(self, req: Request) -> RequestOutput:
        """The request's current state; when finished with ``best_of > n``, the ``n`` sequences
        with the highest cumulative log-probability, best first.

        While a sequence runs, its last ``output_text_buffer_length`` characters are held back:
        they could be the start of a stop string that the next token completes, and text once
        shown to a streaming user cannot be taken back.
        """
        params = req.sampling_params
        seqs = list(enumerate(req.seqs))
        if req.is_finished() and params.best_of > params.n:
            seqs.sort(key=lambda item: item[1].data.cumulative_logprob, reverse=True)
        completions = [self._completion(index, seq, params) for index, seq in seqs[: params.n]]
        return RequestOutput(req.request_id, req.prompt, req.prompt_token_ids, None, completions,
                             req.is_finished(), req.metrics, req.error, req.num_cached_tokens)

    def _completion(self, index: int, seq: Sequence, params: SamplingParams) -> CompletionOutput:
        state = self.seq_states[seq.seq_id]
        reason = SequenceStatus.get_finished_reason(seq.status)
        if state.stop_string_hit and reason is not None:
            reason = "stop"  # a stop string in the last token wins over max_tokens
        hold = params.output_text_buffer_length
        text = state.text
        if not seq.is_finished() and hold:
            text = text[: max(len(text) - hold, 0)]
        return CompletionOutput(
            index=index, text=text, token_ids=list(seq.data.output_token_ids),
            cumulative_logprob=seq.data.cumulative_logprob,
            logprobs=state.logprobs if params.logprobs is not None else None,
            finish_reason=reason, stop_reason=state.stop_reason if reason == "stop" else None)
