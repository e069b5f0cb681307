"""How much of M2's contiguous-slot KV cache the nano-vllm workload actually fills.

Every sequence owns one slot of `max_model_len` tokens from admission to finish, whatever its
length. Here: the Qwen3-0.6B shape in bf16 (its config.json only, no weights), the 256 sequences
of the nano-vllm workload, and the tokens each one holds in its slot when it finishes (its prompt
plus all its output tokens but the last, which is sampled and never fed back), against what the
slot reserves. Once with `max_model_len=2048`, the benchmark setting, once with 40960, the model's
own limit, which is what `max_model_len=None` gives.
"""

import math

from folovllm.benchmarks.workload import Workload
from folovllm.config import ModelConfig

GiB, MiB = 1 << 30, 1 << 20
CONFIG_DIR = "folovllm/benchmarks/configs/qwen3-0.6b"

qwen = ModelConfig(model=CONFIG_DIR, dtype="bfloat16", device="cpu")
per_token = qwen.kv_cache_bytes_per_token()  # 2 (K, V) x 28 layers x 8 KV heads x 128 x 2 bytes
assert per_token == 2 * 28 * 8 * 128 * 2 == 114_688
assert qwen.max_model_len == 40960  # max_model_len=None: the checkpoint's limit

prompts, out_lens = Workload(name="nanovllm", num_prompts=256).requests(vocab_size=151936)
held = [len(p) + n - 1 for p, n in zip(prompts, out_lens)]  # tokens in the slot at the end
# Over its life: a sequence runs len(out) steps (the prefill, then one decode step per further
# token); after the prefill its slot holds len(p) tokens, after decode step j, len(p) + j. Averaged
# over every step of every sequence, that is what a held slot contains on average.
slot_steps = sum(out_lens)
token_steps = sum(len(p) + j for p, n in zip(prompts, out_lens) for j in range(n))
mean_held, mean_life = sum(held) / len(held), token_steps / slot_steps
# the longest sequence, prompt and output: 2,044 tokens; its slot holds all but the last (2,043)
assert max(len(p) + n for p, n in zip(prompts, out_lens)) == 2044 <= 2048
assert max(held) == 2043  # every sequence of the workload fits a 2048-token slot

print(f"Qwen3-0.6B bf16: {per_token:,} KV bytes per token")
print(f"nano-vllm: {len(held)} sequences; mean tokens in a slot: {mean_held:.1f} at the end, "
      f"{mean_life:.1f} over all steps")
print(f"{'max_model_len':>13} {'bytes/slot':>14} {'256 slots':>10} {'used at end':>11} "
      f"{'used, all steps':>15} {'slots in 64 GiB':>15}")
rows = {}
for max_len in (2048, 40960):
    slot = max_len * per_token
    used_end, used_life = mean_held / max_len, mean_life / max_len
    fit = 64 * GiB // slot
    rows[max_len] = (slot, used_end, used_life, fit)
    print(f"{max_len:>13,} {slot / MiB:>10,.0f} MiB {256 * slot / GiB:>6,.0f} GiB "
          f"{used_end:>11.1%} {used_life:>15.1%} {fit:>15,}")

# --- every number the learning notes quote ---------------------------------------------------
slot_2k, used_2k, life_2k, fit_2k = rows[2048]
slot_40k, used_40k, life_40k, fit_40k = rows[40960]
assert slot_2k == 234_881_024 == 224 * MiB
assert slot_40k == 4_697_620_480 and slot_40k / GiB == 4.375
assert 256 * slot_2k == 56 * GiB and 256 * slot_40k == 1120 * GiB
assert round(mean_held, 1) == 1127.9
assert round(100 * used_2k, 1) == 55.1 and round(100 * (1 - used_2k), 1) == 44.9
assert round(mean_life, 1) == 918.8
assert round(100 * life_2k, 1) == 44.9 and round(100 * (1 - life_2k), 1) == 55.1
assert round(100 * used_40k, 2) == 2.75 and round(100 * (1 - used_40k), 1) == 97.2
assert round(100 * life_40k, 2) == 2.24 and round(100 * (1 - life_40k), 1) == 97.8
assert (fit_2k, fit_40k) == (292, 14)

# M3 preview: pages of 16 tokens. A sequence holds ceil(tokens / 16) pages, so it wastes less
# than one page; and the pages a sequence has not reached yet are not taken at all.
paged = sum(math.ceil(n / 16) * 16 for n in held)
paged_unused = 1 - sum(held) / paged
assert paged_unused < 0.01 and round(100 * paged_unused, 2) == 0.64
# The same 64 GiB, as 16-token pages, holds the final KV of this many average sequences at once:
fit_paged = 64 * GiB // (paged / len(held) * per_token)
assert fit_paged == 527
print(f"with 16-token pages: {paged_unused:.2%} unused at the end; 64 GiB holds "
      f"{fit_paged:.0f} average finished sequences")
print("slot waste: all numbers check out")
