"""KV-cache bytes per token: the default model and the Qwen3-0.6B shape."""

import torch

from folovllm.config import ModelConfig

GiB, MiB, KiB = 1 << 30, 1 << 20, 1 << 10
QWEN3 = "folovllm/benchmarks/configs/qwen3-0.6b"  # a config.json, no weights


def kv_bytes(cfg: ModelConfig, elem_bytes: int) -> int:
    """K and V, in every layer, for every KV head (query heads don't count)."""
    return 2 * cfg.num_layers * cfg.num_kv_heads * cfg.head_dim * elem_bytes


smol = ModelConfig(model=None, device="cpu")  # the default model
qwen = ModelConfig(model=QWEN3, dtype="bfloat16", device="cpu")
rows = [  # name, bytes per token, the model's full context length
    ("SmolLM2-135M, bf16", kv_bytes(smol, 2), smol.max_model_len),
    ("SmolLM2-135M, fp32", kv_bytes(smol, 4), smol.max_model_len),
    ("Qwen3-0.6B, bf16", kv_bytes(qwen, 2), qwen.max_model_len),
]
print(f"{'model':<19}{'B/token':>8}{'KiB':>6}{'4096 tok':>10}"
      f"{'tok/GiB':>8}{'full ctx':>11}")
for name, per_token, full in rows:
    print(f"{name:<19}{per_token:>8,}{per_token / KiB:>6.1f}"
          f"{4096 * per_token / MiB:>6.0f} MiB{GiB // per_token:>8,}"
          f"{full * per_token / MiB:>7,.0f} MiB")
