"""GQA head packing: one program reads its KV head once for the group."""

import torch

B, L, H, Hk, D = 256, 1024, 16, 8, 128  # Qwen3-0.6B decode, bf16
ridge = 990e12 / 3.35e12  # H100 SXM: FLOPs per byte to be compute-bound
torch.manual_seed(0)
g = H // Hk  # 2 query heads per KV head
q = torch.randn(g, D, dtype=torch.float64)  # the group's queries
k = torch.randn(L, D, dtype=torch.float64)  # their shared KV head's keys

packed = q @ k.T  # one matmul for the group: the keys are loaded once
per_head = torch.stack([q[h] @ k.T for h in range(g)])
# tl.dot needs >= 16 rows: zero rows pad the tile, their results masked.
tile = torch.zeros(16, D, dtype=torch.float64)
tile[:g] = q
padded = (tile @ k.T)[:g]
print("packed == per head:", torch.allclose(packed, per_head),
      "| padded tile == packed:", torch.allclose(padded, packed))

kv_head_bytes = 2 * L * D * 2
per_kv_head = B * Hk * kv_head_bytes
per_query_head = B * H * kv_head_bytes
print(f"K/V read per layer: {per_kv_head / 2**30:g} GiB with one program per "
      f"KV head, {per_query_head / 2**30:g} GiB per query head")
executed = 2 * 2 * 16 * L * D / kv_head_bytes  # with the 16-row tile
print(f"FLOPs executed per byte: {executed:g} (ridge: {int(ridge)})")
