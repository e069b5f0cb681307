"""The budget bounds a step's activation memory: every tensor of the
forward pass has one row per token the step computes. Qwen3-0.6B's shape
(the config.json that ships with folovllm's benchmarks), bf16
activations, float32 logits, max_num_seqs = 256."""

from pathlib import Path

from transformers import AutoConfig

import folovllm.benchmarks

MiB = 2**20
cfg = AutoConfig.from_pretrained(
    Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b")
h, inter, vocab = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size
print(f"hidden {h}, intermediate {inter}, vocab {vocab:,}")
print("budget  MLP gate+up  logits, every token  logits, 256 rows")
for budget in (512, 2048, 8192, 32768):
    mlp = budget * 2 * inter * 2           # bf16
    every = budget * vocab * 4             # float32
    rows = min(budget, 256) * vocab * 4
    print(f"{budget:6d} {mlp / MiB:8.0f} MiB {every / MiB:14,.0f} MiB "
          f"{rows / MiB:12.0f} MiB")
