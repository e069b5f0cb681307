"""Why sampling stays outside the graph: the sampler's kernels depend on
host decisions made per step from the batch's parameters (the runner's
own SamplingMetadata), and a static logits buffer would be large. Sizes
for Qwen3-0.6B's shape at 256 rows (bf16 hidden, float32 logits)."""

from pathlib import Path

import torch
from transformers import AutoConfig

import folovllm.benchmarks
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (SamplingMetadata,
                                                    make_generator)

steps = {
    "all greedy": [SamplingParams(temperature=0)] * 3,
    "top-p, a seed": [SamplingParams(temperature=0), SamplingParams(top_p=0.9),
                      SamplingParams(seed=7, logprobs=2)],
}
for name, params in steps.items():
    gens = [make_generator(p.seed, 0, "cpu") if p.seed is not None else None
            for p in params]
    md = SamplingMetadata.build(params, [0] * 3, gens, 100, "cpu")
    print(f"{name:13s}: all_greedy={md.all_greedy} need_truncation="
          f"{md.need_truncation} need_ranks={md.need_ranks} own generators="
          f"{sum(g is not None for g in gens)}")

cfg = AutoConfig.from_pretrained(
    Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b")
rows, MiB = 256, 2**20
hidden = rows * cfg.hidden_size * torch.bfloat16.itemsize
logits = rows * cfg.vocab_size * torch.float32.itemsize
print(f"static output at {rows} rows: hidden states {hidden / MiB:.1f} MiB, "
      f"logits {logits / MiB:.0f} MiB")
