"""Exercise: a 4 GiB budget with 32-token blocks instead of 16."""

from folovllm.config import ModelConfig

qwen = ModelConfig(model="folovllm/benchmarks/configs/qwen3-0.6b",
                   dtype="bfloat16", device="cpu", load_format="dummy")
budget = 4 << 30
for block_size in (16, 32):
    per_block = block_size * qwen.kv_cache_bytes_per_token()
    blocks = budget // per_block
    print(f"block_size {block_size}: {per_block:,} bytes per block, "
          f"{blocks:,} blocks, {blocks * block_size:,} tokens")
