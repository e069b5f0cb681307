"""Stacked Q/K/V and gate/up projections: one matmul, several results."""

import torch
import torch.nn.functional as F

from folovllm.model_executor.layers.activation import SiluAndMul
from folovllm.model_executor.layers.linear import MergedLinear, QKVLinear

torch.manual_seed(0)
hidden, head_dim, n_heads, n_kv = 64, 16, 4, 2
# The checkpoint has three matrices; the layer one, and the offsets.
wq, wk, wv = (torch.randn(n * head_dim, hidden) for n in (n_heads, n_kv, n_kv))
qkv = QKVLinear(hidden, head_dim, n_heads, n_kv)
for shard, w in (("q", wq), ("k", wk), ("v", wv)):
    qkv.weight_loader(qkv.weight, w, shard)
print("rows of the stacked weight (start, size):", qkv.offsets)

x = torch.randn(10, hidden)  # 10 tokens of a flat batch
q, k, v = qkv(x).split([qkv.q_size, qkv.kv_size, qkv.kv_size], dim=-1)
print("q, k, v:", tuple(q.shape), tuple(k.shape), tuple(v.shape))
try:  # a tensor of the wrong shape is refused, not copied into wrong rows
    qkv.weight_loader(qkv.weight, torch.zeros(3, hidden), "k")
except ValueError as e:
    wrong_shape = str(e)
    print(wrong_shape)

# The MLP: gate and up in one matmul, then silu(gate) * up.
inter = 128
w_gate, w_up = torch.randn(inter, hidden), torch.randn(inter, hidden)
gate_up = MergedLinear(hidden, inter)
gate_up.weight_loader(gate_up.weight, w_gate, "gate")
gate_up.weight_loader(gate_up.weight, w_up, "up")
mlp = SiluAndMul()(gate_up(x))
print("gate_up:", tuple(gate_up(x).shape), "-> silu(gate) * up:",
      tuple(mlp.shape))
