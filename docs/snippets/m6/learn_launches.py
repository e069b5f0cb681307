"""Where a decode step's time goes, eager and with CUDA graphs.

Measured on one H200 by benchmarks/step_time.py (the Qwen3-0.6B shape,
random weights, bfloat16, prompts of 512 tokens): the wall time of one
decode step, the GPU time inside it (the sum of its kernels' durations)
and the launches the host made for it.
"""

import json
from pathlib import Path

path = Path("docs/benchmarks/results/m6-gpu-step-time.json")
by = {(r["num_seqs"], r["cuda_graphs"]): r
      for r in json.loads(path.read_text())["rows"]}
sizes = sorted({n for n, _ in by})

print("seqs  mode    wall ms  GPU ms  launches  GPU busy")
for n in sizes:
    for graphs in (False, True):
        r = by[n, graphs]
        busy = r["gpu_ms"] / r["wall_ms"]
        print(f"{n:4d}  {'graphs' if graphs else 'eager':6s}  "
              f"{r['wall_ms']:7.2f}  {r['gpu_ms']:6.2f}  "
              f"{r['launches_per_step']:8.0f}  {busy:8.0%}")

one = by[1, False]
per_launch = one["wall_ms"] / one["launches_per_step"] * 1000
print(f"eager, 1 sequence: {per_launch:.0f} us of wall time per launch, "
      f"{one['gpu_ms']:.2f} ms of GPU work per step")
for n in sizes:
    speedup = by[n, False]["wall_ms"] / by[n, True]["wall_ms"]
    print(f"{n:4d} seqs: graphs make the step {speedup:.2f}x faster")
last = by[sizes[-1], True]
host = last["wall_ms"] - last["gpu_ms"]
print(f"graphs, {sizes[-1]} sequences: {host:.1f} ms of each "
      f"{last['wall_ms']:.2f} ms step is host work the GPU waits for")
