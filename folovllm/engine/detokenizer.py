"""Incremental detokenization: turn one new token at a time into the right new text.

The trap: decoding each token on its own and concatenating is wrong. A byte-level BPE token can be
half of a UTF-8 character (a Chinese character or an emoji is 3-4 bytes, often split over tokens),
and SentencePiece-style tokenizers decide whether a word starts with a space from its neighbours.
Decoding the whole sequence again each step is right but costs O(length) per token.

The classic fix (vLLM's): keep two offsets into the token list. Text between ``prefix_offset`` and
``read_offset`` was already emitted; each step decodes ``tokens[prefix_offset:]`` and emits what
it adds beyond the already-emitted prefix, but only once the result no longer ends in the Unicode
replacement character ``U+FFFD`` (a sign of an incomplete character). The window stays a few tokens
long, so each step costs O(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How many prompt tokens seed the window: enough context for spacing rules.
INITIAL_OFFSET = 5
_INCOMPLETE = "\ufffd"


@dataclass
class DetokenizerState:
    """One sequence's incremental decoding state."""

    tokens: list[str]
    prefix_offset: int
    read_offset: int


class IncrementalDetokenizer:
    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        # HF tokenizers rebuild this list on every access (once per token is too often); a
        # tokenizer without the attribute has no special tokens
        self._special_ids = frozenset(getattr(tokenizer, "all_special_ids", ()))

    def _tokens(self, ids: list[int], skip_special_tokens: bool) -> list[str]:
        """The token strings of ``ids``. A model's embedding often has more rows than its
        tokenizer has tokens (Qwen2.5 and Qwen3: 151,936 rows for about 151,665 tokens); an id
        the tokenizer does not know has no text, exactly as ``tokenizer.decode`` treats it."""
        tokens = self.tokenizer.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens)
        return [t for t in tokens if t is not None]

    def init_state(self, prompt_token_ids: list[int] | tuple[int, ...],
                   skip_special_tokens: bool) -> DetokenizerState:
        tokens = self._tokens(list(prompt_token_ids), skip_special_tokens)
        return DetokenizerState(tokens, max(len(tokens) - INITIAL_OFFSET, 0), len(tokens))

    def step(self, state: DetokenizerState, token_id: int, skip_special_tokens: bool) -> str:
        """Append ``token_id`` and return the text it completes ("" while a character is partial,
        or for an id without text)."""
        if skip_special_tokens and token_id in self._special_ids:
            return ""
        new = self._tokens([token_id], skip_special_tokens=False)
        if not new:   # an id past the tokenizer's vocabulary: no text
            return ""
        state.tokens.extend(new)
        to_string = self.tokenizer.convert_tokens_to_string
        prefix_text = to_string(state.tokens[state.prefix_offset:state.read_offset])
        full_text = to_string(state.tokens[state.prefix_offset:])
        if len(full_text) <= len(prefix_text) or full_text.endswith(_INCOMPLETE):
            return ""
        state.prefix_offset, state.read_offset = state.read_offset, len(state.tokens)
        return full_text[len(prefix_text):]
