"""KV-cache bytes per token on one rank (bf16), from the engine's own
ModelConfig.kv_cache_bytes_per_token: each rank caches only its KV heads."""

from pathlib import Path

import torch

import folovllm.benchmarks
from folovllm.config import ModelConfig

qwen = ModelConfig(str(Path(folovllm.benchmarks.__file__).parent / "configs"
                       / "qwen3-0.6b"), device="cpu", skip_tokenizer_init=True)
smol = ModelConfig(model=None, device="cpu")
for name, m, tps in (("SmolLM2-135M", smol, (1, 3)),
                     ("Qwen3-0.6B", qwen, (1, 2, 4, 8, 16))):
    for tp in tps:
        per_rank = m.kv_cache_bytes_per_token(torch.bfloat16, tp)
        tokens = 10 * 2**30 // per_rank
        print(f"{name} TP={tp:2d}: {m.num_kv_heads_per_rank(tp)} KV heads, "
              f"{per_rank:7,d} B/token, 10 GiB/rank holds {tokens:9,d}")
