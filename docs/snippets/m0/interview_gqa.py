"""Grouped-query attention stores 3 KV heads for 9 query heads."""

import torch
import torch.nn.functional as F

from folovllm.config import EngineArgs, ModelConfig

cpu = ModelConfig(model=None, device="cpu")
group = cpu.num_attention_heads // cpu.num_kv_heads
print("query heads, KV heads, group:",
      (cpu.num_attention_heads, cpu.num_kv_heads, group))
gqa = cpu.kv_cache_bytes_per_token(torch.bfloat16)
mha = 2 * cpu.num_layers * cpu.num_attention_heads * cpu.head_dim * 2
print(f"bf16 KV per token: {gqa:,} with GQA, {mha:,} with one KV head each")

# Attention expands the 3 stored heads: query head h reads KV head h // 3.
q = torch.randn(1, 9, 5, 64)  # (batch, heads, tokens, head_dim)
k, v = torch.randn(1, 3, 5, 64), torch.randn(1, 3, 5, 64)
k_rep = k.repeat_interleave(group, dim=1)
v_rep = v.repeat_interleave(group, dim=1)
out = F.scaled_dot_product_attention(q, k_rep, v_rep, is_causal=True)
print("k", tuple(k.shape), "-> k_rep", tuple(k_rep.shape),
      "-> out", tuple(out.shape))

# Tensor parallelism splits the heads: 9 of them cannot go to 2 ranks.
tp2 = EngineArgs.from_kwargs(device="cpu", tensor_parallel_size=2)
try:
    tp2.create_engine_config()
except ValueError as exc:
    tp_error = str(exc)
    print(tp_error.split(":")[0])
