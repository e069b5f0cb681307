"""Tokens of KV cache per engine for Qwen3-0.6B on GPUs of 16 GiB each:
each rank holds 1/N of the weights (bf16, tied embedding) and caches its
own KV heads; every rank holds a slice of the same tokens, so one rank's
count is the engine's. Activations and graphs are ignored here."""

from pathlib import Path

import torch

import folovllm.benchmarks
from folovllm.config import ModelConfig

m = ModelConfig(str(Path(folovllm.benchmarks.__file__).parent / "configs"
                     / "qwen3-0.6b"), device="cpu", skip_tokenizer_init=True)
c = m.hf_config
h, heads, kv, d = (c.hidden_size, c.num_attention_heads, m.num_kv_heads,
                   m.head_dim)
per_layer = (h * (heads + 2 * kv) * d + heads * d * h
             + 3 * h * c.intermediate_size)
weights = 2 * (m.num_layers * per_layer + c.vocab_size * h)
GiB = 2**30
for tp in (1, 2, 4, 8, 16):
    free = 16 * GiB - weights / tp
    tokens = int(free // m.kv_cache_bytes_per_token(torch.bfloat16, tp))
    print(f"TP={tp:2d}: weights {weights / tp / GiB:5.2f} GiB/rank, "
          f"cache {free / GiB:5.2f} GiB/rank, {tokens:9,d} tokens")
