"""The nano-vllm workload on one H200, with CUDA graphs and without.

256 prompts, input and output lengths uniform in [100, 1024], sampled at
temperature 0.6, the Qwen3-0.6B shape with random weights; each engine's
best of two timed runs (folovllm bench, results in the file below).
"""

import json
from pathlib import Path

path = Path("docs/benchmarks/results/m6-gpu-nanovllm.json")
by = {r["engine"]: r for r in json.loads(path.read_text())["results"]}
for name in ("folovllm", "folovllm-eager"):
    r = by[name]
    print(f"{name:15s} {r['output_tokens']:,} tokens in "
          f"{r['seconds']:5.2f} s: {r['output_tokens_per_s']:9,.1f} tok/s, "
          f"TPOT p50 {r['tpot_p50'] * 1000:4.1f} ms")
ratio = by["folovllm"]["output_tokens_per_s"] / \
    by["folovllm-eager"]["output_tokens_per_s"]
print(f"CUDA graphs: {ratio:.2f}x the output tokens per second")
