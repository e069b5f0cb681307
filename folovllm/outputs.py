"""What the engine returns: one ``RequestOutput`` per prompt, one ``CompletionOutput`` per answer.

The shapes match vLLM's, so ``outs[0].outputs[0].text`` reads the same in both projects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Logprob:
    """One token's log-probability at one position, with its rank in the distribution."""

    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


# Per position: token id -> Logprob (the top-N and the sampled token).
SampleLogprobs = list[dict[int, Logprob]]


@dataclass
class RequestMetrics:
    """Wall-clock timestamps (``time.monotonic``) of a request's milestones.

    TTFT (time to first token) is what an interactive user waits for; TPOT (time per output token)
    is how fast the answer then streams. Both are derived here so every benchmark computes them the
    same way.
    """

    arrival_time: float = field(default_factory=time.monotonic)
    first_scheduled_time: float | None = None
    first_token_time: float | None = None
    finished_time: float | None = None
    last_token_time: float | None = None
    # the wait between consecutive steps that gave it tokens: a long prefill in the batch shows
    # up here as one long gap, which a mean (TPOT) would spread thin
    inter_token_latencies: list[float] = field(default_factory=list)

    def record_token(self, now: float) -> None:
        """A step that ends at ``now`` gave the request new tokens."""
        if self.first_token_time is None:
            self.first_token_time = now
        elif now > self.last_token_time:   # several sequences of one request: one gap a step
            self.inter_token_latencies.append(now - self.last_token_time)
        self.last_token_time = now

    @property
    def ttft(self) -> float | None:
        if self.first_token_time is None:
            return None
        return self.first_token_time - self.arrival_time

    def tpot(self, num_output_tokens: int) -> float | None:
        """Mean seconds per output token after the first."""
        if self.finished_time is None or self.first_token_time is None or num_output_tokens < 2:
            return None
        return (self.finished_time - self.first_token_time) / (num_output_tokens - 1)

    @property
    def e2e_latency(self) -> float | None:
        return None if self.finished_time is None else self.finished_time - self.arrival_time


@dataclass
class CompletionOutput:
    """One generated answer.

    ``finish_reason`` is ``"stop"`` (EOS, a stop token or a stop string), ``"length"`` (max_tokens
    or max_model_len) or ``"abort"``; ``None`` while still running. ``stop_reason`` says *which*
    stop: the stop string or token id that matched, ``None`` for EOS or a length cap.
    """

    index: int
    text: str
    token_ids: list[int]
    cumulative_logprob: float | None
    logprobs: SampleLogprobs | None
    finish_reason: str | None = None
    stop_reason: int | str | None = None

    def finished(self) -> bool:
        return self.finish_reason is not None


@dataclass
class RequestOutput:
    """The result for one prompt: its tokens, its ``n`` completions and its timing.

    ``error`` says why a request finished with ``finish_reason="abort"`` without being aborted
    by its caller: the model step or the output processing failed on it (the other requests of
    that step are unaffected). ``num_cached_tokens`` is how many prompt tokens the prefix cache
    supplied (``None`` until the request is first scheduled)."""

    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    prompt_logprobs: SampleLogprobs | None
    outputs: list[CompletionOutput]
    finished: bool
    metrics: RequestMetrics | None = None
    error: str | None = None
    num_cached_tokens: int | None = None  # prompt tokens served by the prefix cache (M4)
