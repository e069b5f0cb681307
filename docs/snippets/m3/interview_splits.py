"""How many splits the paged decode kernel cuts a context into."""

import importlib.util

if importlib.util.find_spec("triton") is None:  # as the kernel tests do
    print("skipped: triton is not installed")
else:
    from folovllm.attention.backends import triton_attn as ta

    print("keys per decode tile:", ta.DECODE_CONFIG.block_n)
    print("prefill tile (16-bit):",
          (ta.PREFILL_CONFIG.block_m, ta.PREFILL_CONFIG.block_n),
          "| fp32 rows:", ta.PREFILL_CONFIG_FP32.block_m)
    print("fewest tokens per split:", ta._MIN_SPLIT_TOKENS)
    # An H200 (132 SMs) and Qwen3's 8 KV heads: batch, context -> splits.
    shapes = [(256, 1024), (1, 32768), (2, 16384), (1, 1000)]
    splits = {s: ta.choose_num_splits(s[0], 8, s[1], num_sms=132)
              for s in shapes}
    for (batch, context), n in splits.items():
        print(f"batch {batch:>3}, context {context:>6}: {n:>2} splits,",
              f"{batch * 8 * n:>4} programs")
