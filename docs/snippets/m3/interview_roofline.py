"""Paged decode attention is memory-bound: FLOPs per byte for Qwen3-0.6B."""

import json
from pathlib import Path

from benchmarks.kernels import decode_bytes

B, L = 256, 1024  # batch x context of one decode step
H, Hk, D = 16, 8, 128  # Qwen3-0.6B: query heads, KV heads, head_dim; bf16
LAYERS, PARAMS = 28, 596_049_920

# Bytes one layer's decode attention moves: K and V of every context.
kv_bytes = 2 * B * L * Hk * D * 2
step_bytes = decode_bytes(B, L, H, Hk, D, block_size=16, dtype_bytes=2)
print(f"K/V bytes per layer: {kv_bytes:,} of {step_bytes:,} moved")
flops = 2 * (2 * B * H * L * D)  # q.k and p.v: 2 FLOPs per multiply-add
intensity = flops / step_bytes
# Vendor specs (NVIDIA H100 SXM datasheet), inputs, not measurements:
HBM_BYTES_PER_S, BF16_FLOPS_PER_S = 3.35e12, 990e12
ridge = BF16_FLOPS_PER_S / HBM_BYTES_PER_S  # FLOPs per byte to be compute-bound
print(f"attention: {intensity:.2f} FLOPs per byte | ridge point: {int(ridge)}")

# Batching helps the weights (read once for all B rows), not the K/V.
weight_intensity = (2 * PARAMS * B) / (PARAMS * 2)
print(f"weights at B = {B}: {weight_intensity:.0f} FLOPs per byte")
print(f"K/V read per step over {LAYERS} layers: "
      f"{LAYERS * kv_bytes / (PARAMS * 2):.0f}x the weights")

# The H200 measurement of the Triton kernel at this shape.
results = Path("docs/benchmarks/results/m3-gpu-decode-kernel.json")
kernel = json.loads(results.read_text())
print(f"measured: {kernel['fraction']:.2f} of the device copy bandwidth")
