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

    def lengths(self) -> tuple[list[int], list[int]]:
        """(prompt lengths, output lengths) of :meth:`requests`, without drawing a token."""
        in_lens, out_lens = self._draw_lengths(random.Random(self.seed))
        if self.name == "shared-prefix":
            in_lens = [self.prefix_len + n for n in in_lens]
        return in_lens, out_lens

    def longest_request(self) -> tuple[int, int]:
        """(prompt, output) tokens of the request that needs the most positions: the one that
        decides whether the workload fits ``max_model_len``."""
        return max(zip(*self.lengths()), key=sum)

    def check_fits(self, max_model_len: int, model_limit: bool = False) -> None:
        """Refuse a workload whose longest request exceeds ``max_model_len``: the engine would
        stop that request early (or refuse its prompt), and the results would measure fewer
        tokens than their header promises. ``model_limit``: the length is the model's own limit
        (none was given), which the message says."""
        prompt, output = self.longest_request()
        if prompt + output <= max_model_len:
            return
        need = (f"the longest request of workload {self.name!r} ({self._length_knobs()}) needs "
                f"{prompt} prompt + {output} output = {prompt + output} tokens")
        raise fail("max_model_len", max_model_len,
                   f"the model's own limit (none was given), and {need}; shorten the requests"
                   if model_limit else
                   f"{need}; raise it to at least {prompt + output} or shorten the requests")

    def _length_knobs(self) -> str:
        """The settings that decide this workload's lengths, for messages."""
        if self.name == "nanovllm":
            return "input and output lengths uniform in [100, 1024]"
        knobs = {"input_len": self.input_len, "output_len": self.output_len}
        if self.range_ratio:
            knobs["range_ratio"] = self.range_ratio
        if self.name == "shared-prefix":
            knobs["prefix_len"] = self.prefix_len
        if self.name == "long-prompt":
            knobs["long_len"] = self.long_len
        return ", ".join(f"{k}={v}" for k, v in knobs.items())

    # --8<-- [start:workload_requests]
    def requests(self, vocab_size: int) -> tuple[list[list[int]], list[int]]:
        """(prompts, output lengths), the same for every engine."""
        rng = random.Random(self.seed)
        hi = min(self.max_token_id, vocab_size) - 1
        in_lens, out_lens = self._draw_lengths(rng)
        prompts = [[rng.randint(0, hi) for _ in range(n)] for n in in_lens]
        if self.name == "shared-prefix":
            prefix = [rng.randint(0, hi) for _ in range(self.prefix_len)]
            prompts = [prefix + p for p in prompts]
        return prompts, out_lens

    def _draw_lengths(self, rng: random.Random) -> tuple[list[int], list[int]]:
        """The requests' own input lengths (without a shared prefix) and output lengths: the
        first draws of ``rng``, so :meth:`lengths` finds them without drawing any token."""
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
        return in_lens, out_lens


def _around(rng: random.Random, n: int, ratio: float) -> int:
    return rng.randint(max(1, int(n * (1 - ratio))), max(1, int(n * (1 + ratio))))
# --8<-- [end:workload_requests]


def check_engines(engines: Iterable[str]) -> None:
    """At least one engine, each known, none twice. With none the run would measure nothing
    and print an empty table; results are read by engine name (the ratio to ``transformers``,
    the summaries), so a repeated one would be run twice and read as one."""
    engines = list(engines)
    if not engines:
        raise fail("engines", engines, f"name at least one of {list(ENGINES)}")
    for e in engines:
        if e not in ENGINES:
            raise fail("engine", e, f"must be one of {list(ENGINES)}")
    repeated = sorted({e for e in engines if engines.count(e) > 1})
    if repeated:
        raise fail("engines", engines, f"{repeated} named more than once: each engine runs once")
