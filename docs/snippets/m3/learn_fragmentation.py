"""What M2's slots leave unused on the nano-vllm workload, and 16-token blocks.

M2 reserves `max_model_len` tokens per sequence; M3 hands out 16-token
blocks as a sequence grows, so only the tail of its last block is unused.
"""

import json
import math
from statistics import fmean

from benchmarks.memory import nanovllm_lengths

MAX_LEN = 2048  # the tightest max_model_len the workload fits in
prompt_lens, output_lens = nanovllm_lengths(256)
# K/V held at the end: the prompt and every output token but the last.
final = [p + n - 1 for p, n in zip(prompt_lens, output_lens)]
print(f"M2 slot of {MAX_LEN} tokens: {1 - fmean(final) / MAX_LEN:.1%} unused "
      f"when a sequence finishes")
tails = [math.ceil(n / 16) * 16 - n for n in final]  # last block's empty part
print(f"M3 blocks of 16: {fmean(tails):.2f} tokens unused on average "
      f"(at most {max(tails)})")
for size in (1, 16, 64, 256):
    held = [math.ceil(n / size) * size for n in final]  # whole blocks
    print(f"block_size {size:3d}: {1 - sum(final) / sum(held):6.2%} unused, "
          f"{math.ceil(MAX_LEN / size):4d} table entries per {MAX_LEN} tokens")

# The measured run: the real scheduler, 16 GiB of KV, Qwen3-0.6B's shape.
result = json.loads(open("docs/benchmarks/results/m3-memory.json").read())
print(f"{'max_model_len':>13}{'M2 slots':>9}{'M3 blocks':>10}"
      f"{'M2 running':>11}{'M3 running':>11}{'gain':>7}")
for case in result["cases"]:
    m2, m3 = case["rows"]
    gain = m3["busy_running"] / m2["busy_running"]
    print(f"{case['max_model_len']:>13}{m2['num_blocks']:>9}"
          f"{m3['num_blocks']:>10}{m2['busy_running']:>11.1f}"
          f"{m3['busy_running']:>11.1f}{gain:>6.2f}x")
# M3's blocks, shared by the sequences running at once: room for each.
m3 = result["cases"][0]["rows"][1]
room = m3["num_blocks"] * 16 / m3["busy_running"]
print(f"M3: {room:.0f} tokens of room per running sequence; "
      f"gain ~ max_model_len / {room:.0f}")
