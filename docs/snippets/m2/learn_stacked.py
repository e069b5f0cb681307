"""Stacked Q/K/V: checkpoint names mapped to shards, one matmul for three."""

import torch

from folovllm.model_executor.layers.linear import QKVLinear
from folovllm.model_executor.loader import _map_name
from folovllm.model_executor.models.qwen3 import Qwen3ForCausalLM

for name in ("model.layers.3.self_attn.k_proj.weight",
             "model.layers.3.mlp.up_proj.weight", "model.norm.weight"):
    print(name, "->", _map_name(name, Qwen3ForCausalLM.PACKED))

with torch.device("meta"):  # Qwen3-0.6B's shape, no memory
    big = QKVLinear(hidden=1024, head_dim=128, num_heads=16, num_kv_heads=8)
print("rows of each shard (start, size):", big.offsets)

torch.manual_seed(0)
qkv = QKVLinear(hidden=16, head_dim=4, num_heads=4, num_kv_heads=2)
ws = {"q": torch.randn(16, 16), "k": torch.randn(8, 16),
      "v": torch.randn(8, 16)}
for shard, w in ws.items():
    qkv.weight_loader(qkv.weight, w, shard)  # copy into the shard's rows
x = torch.randn(5, 16)  # 5 flat tokens
parts = qkv(x).split([qkv.q_size, qkv.kv_size, qkv.kv_size], dim=-1)
same = all(torch.allclose(p, x @ w.T, atol=1e-6)  # to float32 rounding
           for p, w in zip(parts, ws.values()))
print("one stacked matmul == three separate ones:", same)
