"""Stop strings: the one stop check that needs text, so output processing does it.

The token-level checks (EOS, ``stop_token_ids``, ``max_tokens``, ``max_model_len``) are the
scheduler's (``folovllm.core.scheduler.check_stop``): they decide whether a sequence keeps its
KV blocks. A stop string can only be seen once the new token is detokenized. When one is found
the text is cut before it (or after it with ``include_stop_str_in_output``), the sequence
finishes with ``finish_reason="stop"`` and ``stop_reason=<the string>`` — even if the same token
also reached ``max_tokens`` (vLLM's order).
"""

from __future__ import annotations


def find_stop_string(text: str, new_char_count: int, stop: list[str],
                     include_stop_str_in_output: bool) -> tuple[str, int] | None:
    """``(stop string, length to cut the text to)`` if a stop string ends in the new text.

    Search only where a match could end inside the new text: a stop string may start in older
    text and be completed by this token, so the window reaches back ``len(stop) - 1`` chars.
    """
    if not new_char_count:
        return None
    for s in stop:
        start = max(len(text) - new_char_count - len(s) + 1, 0)
        index = text.find(s, start)
        if index != -1:
            return s, index + len(s) if include_stop_str_in_output else index
    return None
