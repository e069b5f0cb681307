"""Graphs remove host time, not GPU time: the measured decode step (one
H200, Qwen3-0.6B's shape) with and without graphs. What a compiler that
fuses kernels could still shrink is the GPU time, the same in both."""

import json
from pathlib import Path

RESULTS = Path("docs/benchmarks/results/m6-gpu-step-time.json")
rows = json.loads(RESULTS.read_text())["rows"]
step = {(r["num_seqs"], r["cuda_graphs"]): r for r in rows}
for n in sorted({n for n, _ in step}):
    eager, graphs = step[n, False], step[n, True]
    print(f"{n:3d} seqs: GPU {eager['gpu_ms']:.2f} -> {graphs['gpu_ms']:.2f}"
          f" ms, wall {eager['wall_ms']:5.2f} -> {graphs['wall_ms']:.2f} ms")
