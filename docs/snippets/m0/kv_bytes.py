"""KV-cache bytes per token for the default model and for the Qwen3-0.6B shape.

Every number the M0 learning notes quote about KV memory is computed and asserted here.
"""

import json
import tempfile
from pathlib import Path

import torch

import folovllm.benchmarks
from folovllm.config import ModelConfig

GiB, MiB, KiB = 1 << 30, 1 << 20, 1 << 10

# The embedded default model (SmolLM2-135M-Instruct). On CPU, dtype="auto" resolves to float32.
smol = ModelConfig(model=None, device="cpu")
assert (smol.num_layers, smol.num_kv_heads, smol.head_dim) == (30, 3, 64)
assert smol.num_attention_heads // smol.num_kv_heads == 3  # GQA: 3 query heads per KV head
assert smol.checkpoint_dtype == torch.bfloat16 and smol.torch_dtype == torch.float32
assert smol.max_model_len == 8192

# The real Qwen3-0.6B shape: the config.json the package ships for benchmarks (no weights needed).
QWEN3_DIR = Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b"
QWEN3_0_6B = json.loads((QWEN3_DIR / "config.json").read_text())
qwen = ModelConfig(model=str(QWEN3_DIR), dtype="bfloat16", device="cpu")
with tempfile.TemporaryDirectory() as tmp:
    # The same shape with one KV head per query head (plain multi-head attention), for contrast.
    with open(f"{tmp}/config.json", "w") as f:
        json.dump({**QWEN3_0_6B, "num_key_value_heads": 16}, f)
    qwen_mha = ModelConfig(model=tmp, dtype="bfloat16", device="cpu")
assert (qwen.num_layers, qwen.num_kv_heads, qwen.head_dim) == (28, 8, 128)
assert qwen.checkpoint_dtype == torch.bfloat16 and qwen.max_model_len == 40960

rows = [
    # name, bytes per token, the model's full context length
    ("SmolLM2-135M, bf16", smol.kv_cache_bytes_per_token(torch.bfloat16), smol.max_model_len),
    ("SmolLM2-135M, fp32", smol.kv_cache_bytes_per_token(), smol.max_model_len),
    ("Qwen3-0.6B, bf16", qwen.kv_cache_bytes_per_token(), qwen.max_model_len),
]
print(f"{'model':<20} {'B/token':>9} {'KiB/token':>9} {'4096 tok':>10} {'tokens/GiB':>10} "
      f"{'full context':>13}")
for name, per_token, full in rows:
    print(f"{name:<20} {per_token:>9,} {per_token / KiB:>9.1f} {4096 * per_token / MiB:>6.0f} MiB "
          f"{GiB // per_token:>10,} {full * per_token / MiB:>9,.0f} MiB")

# SmolLM2-135M in bf16 (what dtype="auto" picks on a GPU: the checkpoint is bf16).
smol_bf16 = smol.kv_cache_bytes_per_token(torch.bfloat16)
assert smol_bf16 == 2 * 30 * 3 * 64 * 2 == 23_040 and smol_bf16 / KiB == 22.5
assert 4096 * smol_bf16 == 94_371_840 == 90 * MiB
assert GiB // smol_bf16 == 46_603
assert 8192 * smol_bf16 == 180 * MiB

# SmolLM2-135M in fp32 (what dtype="auto" picks on CPU): twice the bytes, half the tokens.
smol_fp32 = smol.kv_cache_bytes_per_token()
assert smol_fp32 == 2 * 30 * 3 * 64 * 4 == 46_080 and smol_fp32 / KiB == 45
assert 4096 * smol_fp32 == 180 * MiB
assert 8192 * smol_fp32 == 360 * MiB
assert GiB // smol_fp32 == 23_301

# Qwen3-0.6B in bf16.
q = qwen.kv_cache_bytes_per_token()
assert q == 2 * 28 * 8 * 128 * 2 == 114_688 and q / KiB == 112
assert 4096 * q == 469_762_048 == 448 * MiB
assert GiB // q == 9_362
assert 40960 * q == 4480 * MiB and 40960 * q / GiB == 4.375
# In 16-token blocks (CacheConfig's default block_size, used from M3 on).
assert 16 * q == 1_835_008 and 16 * q / MiB == 1.75
assert GiB // (16 * q) == 585 and 585 * 16 == 9_360
# Grouped-query attention halves Qwen3's cache: 16 query heads share 8 KV heads.
assert qwen_mha.kv_cache_bytes_per_token() == 229_376 == 2 * q
print("all KV numbers check out")
