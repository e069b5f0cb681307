"""Launch overhead from the measured decode step (one H200, Qwen3-0.6B's
shape, dummy weights, bf16, prompts of 512 tokens): wall time, GPU time
(the sum of kernel times) and kernel launches per step."""

import json
from pathlib import Path

RESULTS = Path("docs/benchmarks/results/m6-gpu-step-time.json")
rows = json.loads(RESULTS.read_text())["rows"]
step = {(r["num_seqs"], r["cuda_graphs"]): r for r in rows}
print("seqs  mode    wall ms  GPU ms  launches  GPU busy  wall per launch")
for (n, graphs), r in step.items():
    busy = r["gpu_ms"] / r["wall_ms"]
    per_launch = 1000 * r["wall_ms"] / r["launches_per_step"]
    tail = "" if graphs else f"{per_launch:10.1f} us"
    line = (f"{n:4d}  {'graphs' if graphs else 'eager':6}  {r['wall_ms']:7.2f}"
            f"  {r['gpu_ms']:6.2f}  {r['launches_per_step']:8.0f}"
            f"  {busy:8.0%}  {tail}")
    print(line.rstrip())
sizes = sorted({n for n, _ in step})
speedup = {n: step[n, False]["wall_ms"] / step[n, True]["wall_ms"]
           for n in sizes}
print("step speedup:", ", ".join(f"{n}: {s:.1f}x" for n, s in speedup.items()))
