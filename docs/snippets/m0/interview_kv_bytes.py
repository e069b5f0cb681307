"""The KV bytes of one token, and what they add up to."""

import torch

from folovllm.config import CacheConfig, ModelConfig


def kv_bytes_per_token(layers: int, kv_heads: int, head_dim: int,
                       elem_bytes: int) -> int:
    return 2 * layers * kv_heads * head_dim * elem_bytes  # one K, one V


cpu = ModelConfig(model=None, device="cpu")
shape = (cpu.num_layers, cpu.num_kv_heads, cpu.head_dim)
fp32 = cpu.kv_cache_bytes_per_token()
bf16 = cpu.kv_cache_bytes_per_token(torch.bfloat16)
print("layers, KV heads, head dim:", shape)
print(f"per token: {fp32:,} bytes in fp32, {bf16:,} in bf16")
context = bf16 * cpu.max_model_len
print(f"one {cpu.max_model_len}-token context: {context / 2**20:g} MiB")
tokens = (10 * 2**30) // bf16
print(f"10 GiB: {tokens:,} tokens, {tokens // cpu.max_model_len} contexts")
block = CacheConfig().block_size * bf16
print(f"one {CacheConfig().block_size}-token block: {block / 1024:g} KiB")
