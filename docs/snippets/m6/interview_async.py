"""What async scheduling could still hide, from the measured steps (one
H200, Qwen3-0.6B's shape): with graphs, a decode step's wall time minus
its GPU time is time the GPU sits idle, waiting for the host. If that
host work ran while the GPU computes the step before, a step would take
max(idle, GPU) instead of the sum: an upper bound, not a measurement."""

import json
from pathlib import Path

RESULTS = Path("docs/benchmarks/results")
rows = json.loads((RESULTS / "m6-gpu-step-time.json").read_text())["rows"]
for r in (r for r in rows if r["cuda_graphs"]):
    idle = r["wall_ms"] - r["gpu_ms"]
    bound = r["wall_ms"] / max(idle, r["gpu_ms"])
    print(f"{r['num_seqs']:3d} seqs: wall {r['wall_ms']:5.2f} ms = GPU "
          f"{r['gpu_ms']:.2f} + idle {idle:.2f} ({idle / r['wall_ms']:.0%}); "
          f"overlapped: up to {bound:.2f}x")
bench = json.loads((RESULTS / "m6-gpu-nanovllm.json").read_text())
tps = {r["engine"]: r["output_tokens_per_s"] for r in bench["results"]}
print(f"nano-vllm workload: graphs {tps['folovllm']:,.1f} tok/s, eager "
      f"{tps['folovllm-eager']:,.1f} tok/s "
      f"({tps['folovllm'] / tps['folovllm-eager']:.2f}x)")
