"""Decides, after each new token, whether a sequence is finished and why.

Checked in vLLM's order, after the new token's text was appended:
1. ``min_tokens`` not reached yet: nothing stops (the sampler also suppressed EOS/stop tokens),
   except the hard ``max_model_len`` cap, which nothing overrides;
2. EOS (unless ``ignore_eos``) -> ``stop``, ``stop_reason=None``;
3. a ``stop_token_ids`` entry -> ``stop``, ``stop_reason=<token id>``; for 2 and 3 the token stays
   in ``token_ids`` but its text is removed from the output text (unless
   ``include_stop_str_in_output``), so a stop token never leaks into what the user reads;
4. a stop string in the new text -> ``stop``, ``stop_reason=<the string>``; the text is cut before
   it (or after it with ``include_stop_str_in_output``);
5. ``max_tokens`` output tokens, or ``max_model_len`` tokens in all -> ``length``.
"""

from __future__ import annotations

from folovllm.sampling_params import SamplingParams
from folovllm.sequence import Sequence, SequenceStatus


class StopChecker:
    def __init__(self, max_model_len: int) -> None:
        self.max_model_len = max_model_len

    def check(self, seq: Sequence, params: SamplingParams, new_char_count: int) -> SequenceStatus | None:
        """Return the finished status for ``seq`` (and trim its text), or None to continue."""
        data = seq.data
        if data.get_output_len() < params.min_tokens:
            return SequenceStatus.FINISHED_LENGTH_CAPPED if data.get_len() >= self.max_model_len else None
        last = data.get_last_token_id()
        eos = not params.ignore_eos and last == seq.eos_token_id
        if eos or last in params.stop_token_ids:
            if new_char_count and not params.include_stop_str_in_output:
                seq.output_text = seq.output_text[:-new_char_count]
            seq.stop_reason = None if eos else last
            return SequenceStatus.FINISHED_STOPPED
        stop_str = self._find_stop_string(seq, params, new_char_count)
        if stop_str is not None:
            seq.stop_reason = stop_str
            return SequenceStatus.FINISHED_STOPPED
        if params.max_tokens is not None and data.get_output_len() >= params.max_tokens:
            return SequenceStatus.FINISHED_LENGTH_CAPPED
        if data.get_len() >= self.max_model_len:
            return SequenceStatus.FINISHED_LENGTH_CAPPED
        return None

    @staticmethod
    def _find_stop_string(seq: Sequence, params: SamplingParams, new_char_count: int) -> str | None:
        """Search only where a match could end inside the new text: a stop string may start in
        older text and be completed by this token, so the window reaches back len(stop)-1 chars."""
        if not new_char_count:
            return None
        text = seq.output_text
        for stop in params.stop:
            start = max(len(text) - new_char_count - len(stop) + 1, 0)
            index = text.find(stop, start)
            if index == -1:
                continue
            end = index + len(stop) if params.include_stop_str_in_output else index
            seq.output_text = text[:end]
            return stop
        return None
