"""How much of M2's slot cache the nano-vllm workload fills.

Each sequence owns one slot of `max_model_len` tokens from admission to
finish. Shape: Qwen3-0.6B in bf16 (its config.json only, no weights).
"""

import math

from folovllm.benchmarks.workload import Workload
from folovllm.config import ModelConfig

GiB, MiB = 1 << 30, 1 << 20
QWEN3 = "folovllm/benchmarks/configs/qwen3-0.6b"

per_token = ModelConfig(model=QWEN3, dtype="bfloat16",
                        device="cpu").kv_cache_bytes_per_token()
prompts, outs = Workload(name="nanovllm", num_prompts=256).requests(
    vocab_size=151936)
# In the slot at the end: the prompt and every output token but the last.
held = [len(p) + n - 1 for p, n in zip(prompts, outs)]
# Over its life, after step j a sequence holds len(p) + j tokens.
life = [len(p) + j for p, n in zip(prompts, outs) for j in range(n)]
mean_end, mean_life = sum(held) / len(held), sum(life) / len(life)
print(f"mean tokens in a slot: {mean_end:.1f} at the end, "
      f"{mean_life:.1f} over all steps")
print(f"{'max_model_len':>13}{'slot':>10}{'256 slots':>11}{'used, end':>10}"
      f"{'used, life':>11}{'in 64 GiB':>10}")
for max_len in (2048, 40960):
    slot = max_len * per_token
    print(f"{max_len:>13,}{slot / MiB:>6,.0f} MiB{256 * slot / GiB:>7,.0f} GiB"
          f"{mean_end / max_len:>10.1%}{mean_life / max_len:>11.1%}"
          f"{64 * GiB // slot:>10,}")
# M3's preview: 16-token pages, taken only as a sequence grows.
paged = sum(math.ceil(n / 16) * 16 for n in held)
fit = 64 * GiB // (paged / len(held) * per_token)
print(f"16-token pages: {1 - sum(held) / paged:.2%} unused at the end; "
      f"64 GiB holds {fit:.0f} such sequences")
