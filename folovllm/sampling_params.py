"""Sampling parameters: how the next token is chosen and when a sequence stops.

The fields, their ranges and their normalisations follow vLLM, so code written against vLLM's
``SamplingParams`` behaves the same here. Everything is checked in ``__post_init__``: a bad value
is a ``ValueError`` naming the field and the allowed range, raised before the request reaches the
engine, so one bad request never disturbs the others.

The sampler applies the parameters in this order (see the M0 learning notes for the maths):
penalties (repetition, frequency, presence) -> temperature -> top-k -> top-p -> min-p -> sample.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from folovllm.validation import check_bool, check_int

# Temperatures below this are treated as exactly 0 (greedy), as in vLLM.
SAMPLING_EPS = 1e-5
# Below this (but above 0) the logits / temperature division overflows in half precision, so
# vLLM raises such temperatures to it.
MIN_TEMPERATURE = 1e-2


class SamplingType(enum.IntEnum):
    """Which sampling path a request takes; the sampler groups rows by it."""

    GREEDY = 0       # argmax: deterministic, no random numbers drawn
    RANDOM = 1       # draws from the engine's shared generator
    RANDOM_SEED = 2  # draws from the request's own generator: reproducible in any batch


class RequestOutputKind(enum.IntEnum):
    """Which steps return an output for a request (vLLM's names and values)."""

    CUMULATIVE = 0   # every step that advances it: all it has generated so far (streaming)
    FINAL_ONLY = 2   # only the step that finishes it: what LLM.generate needs, with no
                     # per-step copies of every request's tokens


def _check_float(name: str, value: object, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """Range check that also rejects NaN (every comparison with NaN is false) and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} is invalid: must be a finite number")
    ok_lo = value > lo if lo_open else value >= lo
    if not (ok_lo and value <= hi):
        left = "(" if lo_open else "["
        raise ValueError(f"{name}={value!r} is invalid: must be in {left}{lo}, {hi}]")
    return float(value)


@dataclass
class SamplingParams:
    """Per-request sampling and stopping parameters (vLLM-compatible).

    Attributes:
        n: sequences returned for the prompt.
        best_of: sequences generated, of which the ``n`` with the highest cumulative log-probability
            are returned. ``None`` means ``n``.
        temperature: divides the logits; ``0`` means greedy decoding.
        top_p: keep the smallest set of tokens whose probability adds up to at least ``top_p``.
        top_k: keep the ``top_k`` most likely tokens; ``0`` or ``-1`` disables (stored as ``0``).
        min_p: drop tokens whose probability is below ``min_p`` times the top token's.
        presence_penalty: subtracted once from the logit of every token already generated.
        frequency_penalty: subtracted from a token's logit once per time it was generated.
        repetition_penalty: divides positive logits (multiplies negative ones) of every token seen
            in the prompt or the output; ``1`` disables.
        seed: a per-request random seed; the output then does not depend on the batch.
        stop: strings that end generation when they appear in the output text.
        stop_token_ids: token ids that end generation (like EOS, but kept in the output ids).
        ignore_eos: keep generating past the EOS token.
        max_tokens: most tokens to generate; ``None`` means up to ``max_model_len``.
        min_tokens: EOS and stop tokens are suppressed until this many tokens were generated.
        logprobs: return the top-N log-probabilities (plus the sampled token's) at each step.
        prompt_logprobs: the same for each prompt token.
        skip_special_tokens: leave special tokens out of the output text.
        include_stop_str_in_output: keep the matched stop string at the end of the text.
    """

    n: int = 1
    best_of: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    seed: int | None = None
    stop: str | list[str] | None = None
    stop_token_ids: list[int] | None = None
    ignore_eos: bool = False
    max_tokens: int | None = 16
    min_tokens: int = 0
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    skip_special_tokens: bool = True
    include_stop_str_in_output: bool = False
    output_kind: RequestOutputKind = RequestOutputKind.CUMULATIVE
    # Filled by the engine: EOS and stop_token_ids together, for the stop checker.
    all_stop_token_ids: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.output_kind, RequestOutputKind):
            raise ValueError(f"output_kind={self.output_kind!r} is invalid: must be one of "
                             f"{[k.name for k in RequestOutputKind]}")
        check_int("n", self.n, 1)
        if self.best_of is None:
            self.best_of = self.n
        check_int("best_of", self.best_of, self.n)
        self.temperature = _check_float("temperature", self.temperature, 0.0, float("inf"))
        if SAMPLING_EPS <= self.temperature < MIN_TEMPERATURE:
            self.temperature = MIN_TEMPERATURE
        self.top_p = _check_float("top_p", self.top_p, 0.0, 1.0, lo_open=True)
        check_int("top_k", self.top_k, -1)  # the engine bounds it by the vocabulary
        if self.top_k == -1:
            self.top_k = 0
        self.min_p = _check_float("min_p", self.min_p, 0.0, 1.0)
        self.presence_penalty = _check_float("presence_penalty", self.presence_penalty, -2.0, 2.0)
        self.frequency_penalty = _check_float(
            "frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        self.repetition_penalty = _check_float(
            "repetition_penalty", self.repetition_penalty, 0.0, float("inf"), lo_open=True
        )
        if self.seed is not None:
            check_int("seed", self.seed, -(2**63), 2**64 - 1)  # what torch.Generator accepts
        self.stop = self._normalize_stop(self.stop)
        self.stop_token_ids = self._normalize_stop_token_ids(self.stop_token_ids)
        check_bool("ignore_eos", self.ignore_eos)
        if self.max_tokens is not None:
            check_int("max_tokens", self.max_tokens, 1)
        check_int("min_tokens", self.min_tokens, 0, self.max_tokens)
        for name in ("logprobs", "prompt_logprobs"):  # the engine's max_logprobs bounds them
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 0)
        check_bool("skip_special_tokens", self.skip_special_tokens)
        check_bool("include_stop_str_in_output", self.include_stop_str_in_output)
        if self.temperature < SAMPLING_EPS:
            self._normalize_greedy()

    @staticmethod
    def _normalize_stop(stop: object) -> list[str]:
        if stop is None:
            return []
        items = [stop] if isinstance(stop, str) else stop
        if not isinstance(items, (list, tuple)) or not all(isinstance(s, str) for s in items):
            raise ValueError(f"stop={stop!r} is invalid: must be a string or a list of strings")
        if any(s == "" for s in items):
            raise ValueError(f"stop={stop!r} is invalid: stop strings must not be empty")
        return list(items)

    @staticmethod
    def _normalize_stop_token_ids(ids: object) -> list[int]:
        if ids is None:
            return []
        if not isinstance(ids, (list, tuple)):
            raise ValueError(f"stop_token_ids={ids!r} is invalid: must be a list of integers")
        for i in ids:
            check_int("stop_token_ids[...]", i, 0)
        return list(ids)

    # --8<-- [start:greedy]
    def _normalize_greedy(self) -> None:
        """Greedy decoding ignores the truncation knobs, so reset them to "off".

        Several greedy copies of one prompt would be identical, so ``n``/``best_of`` > 1 is an
        error rather than wasted work (vLLM's rule).
        """
        if self.best_of > 1:
            raise ValueError(
                f"best_of={self.best_of} (n={self.n}) is invalid with temperature=0: greedy "
                "sampling gives identical sequences; use temperature > 0 or n=best_of=1"
            )
        self.top_p, self.top_k, self.min_p = 1.0, 0, 0.0
    # --8<-- [end:greedy]

    @property
    def sampling_type(self) -> SamplingType:
        if self.temperature < SAMPLING_EPS:
            return SamplingType.GREEDY
        return SamplingType.RANDOM if self.seed is None else SamplingType.RANDOM_SEED

    @property
    def output_text_buffer_length(self) -> int:
        """Characters of new text the engine holds back before showing them.

        A stop string may be completed by a later token; until it is, the characters that could
        be its beginning must not be streamed, or the user would see text that is then cut off.
        """
        if not self.stop or self.include_stop_str_in_output:
            return 0
        return max(len(s) for s in self.stop) - 1
