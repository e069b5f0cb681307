"""What a throughput run is asked to do: the workload and the engines, checked without torch.

``folovllm bench`` builds these from its arguments before it imports torch, so a bad value fails
at once; ``throughput.py`` runs them.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from folovllm.validation import check_int, fail

ENGINES = ("folovllm", "folovllm-no-prefix-cache", "folovllm-no-chunked-prefill",
           "folovllm-eager", "folovllm-sync", "transformers")
WORKLOADS = ("random", "nanovllm", "shared-prefix", "long-prompt")


@dataclass
class Workload:
    """Prompts of random token ids and the number of tokens to generate for each.

    ``random``: vLLM's ``bench throughput`` random dataset: input lengths uniform in
    ``input_len * [1 - range_ratio, 1 + range_ratio]``, output lengths likewise around
    ``output_len`` (``range_ratio=0``: all equal), greedy. ``nanovllm``: lengths uniform in
    [100, 1024] for both, sampled at temperature 0.6 (nano-vllm's ``bench.py``).
    ``shared-prefix`` (for prefix caching, M4): every prompt starts with the same ``prefix_len``
    tokens, followed by its own ``input_len``-token suffix. ``long-prompt`` (for chunked prefill,
    M5): every ``long_every``-th prompt has ``long_len`` tokens, the others ``input_len``; the
    long prefills stall the short requests' decodes unless prefill is chunked.
    """

    name: str = "random"
    num_prompts: int = 8
    input_len: int = 128
    output_len: int = 128
    seed: int = 0
    max_token_id: int = 10000
    repeats: int = 3
    hf_batch_size: int | None = None  # None: all prompts in one static batch
    range_ratio: float = 0.0
    prefix_len: int = 512      # shared-prefix: tokens every prompt shares
    long_len: int = 4096       # long-prompt: length of the long prompts
    long_every: int = 8        # long-prompt: every n-th prompt is long

    def __post_init__(self) -> None:
        if self.name not in WORKLOADS:
            raise ValueError(f"workload={self.name!r} is invalid: must be one of {list(WORKLOADS)}")
        for name in ("num_prompts", "input_len", "output_len", "repeats", "max_token_id",
                     "prefix_len", "long_len", "long_every"):
            check_int(name, getattr(self, name), 1)
        if self.hf_batch_size is not None:
            check_int("hf_batch_size", self.hf_batch_size, 1)
        if isinstance(self.range_ratio, bool) or not isinstance(self.range_ratio, (int, float)) \
                or not 0 <= self.range_ratio < 1:
            raise ValueError(f"range_ratio={self.range_ratio!r} is invalid: must be in [0, 1)")

    @property
    def temperature(self) -> float:
        return 0.6 if self.name == "nanovllm" else 0.0

    # --8<-- [start:workload_requests]
    def requests(self, vocab_size: int) -> tuple[list[list[int]], list[int]]:
        """(prompts, output lengths), the same for every engine."""
        rng = random.Random(self.seed)
        hi = min(self.max_token_id, vocab_size) - 1
        if self.name == "nanovllm":
            in_lens = [rng.randint(100, 1024) for _ in range(self.num_prompts)]
            out_lens = [rng.randint(100, 1024) for _ in range(self.num_prompts)]
        else:
            in_lens = [_around(rng, self.input_len, self.range_ratio) for _ in range(self.num_prompts)]
            out_lens = [_around(rng, self.output_len, self.range_ratio)
                        for _ in range(self.num_prompts)]
        if self.name == "long-prompt":
            in_lens = [self.long_len if i % self.long_every == 0 else n
                       for i, n in enumerate(in_lens)]
        prompts = [[rng.randint(0, hi) for _ in range(n)] for n in in_lens]
        if self.name == "shared-prefix":
            prefix = [rng.randint(0, hi) for _ in range(self.prefix_len)]
            prompts = [prefix + p for p in prompts]
        return prompts, out_lens


def _around(rng: random.Random, n: int, ratio: float) -> int:
    return rng.randint(max(1, int(n * (1 - ratio))), max(1, int(n * (1 + ratio))))
# --8<-- [end:workload_requests]


def check_engines(engines: Iterable[str]) -> None:
    for e in engines:
        if e not in ENGINES:
            raise fail("engine", e, f"must be one of {list(ENGINES)}")
