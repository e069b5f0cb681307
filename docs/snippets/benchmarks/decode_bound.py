"""How close the nano-vllm decode step comes to the bandwidth bound."""

import json
from pathlib import Path

from benchmarks.summary import decode_bound

results = Path("docs/benchmarks/results")
bound = decode_bound(
    json.loads((results / "m3-gpu-decode-kernel.json").read_text()),
    json.loads((results / "m3-gpu-nanovllm.json").read_text()))
print(f"weights {bound.weight_bytes / 2**30:.2f} GiB + "
      f"K/V {bound.kv_bytes / 2**30:.2f} GiB at {bound.copy_gbps:.0f} GB/s: "
      f"{bound.bound_ms:.1f} ms per step;")
print(f"measured {bound.tpot_ms:.1f} ms, {bound.fraction:.0%} of the bound")
