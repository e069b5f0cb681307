"""Exercise: Qwen3-0.6B without GQA (one KV head per query head)."""

import json
import tempfile
from pathlib import Path

from folovllm.config import ModelConfig

QWEN3 = Path("folovllm/benchmarks/configs/qwen3-0.6b/config.json")
config = json.loads(QWEN3.read_text())
with tempfile.TemporaryDirectory() as tmp:
    mha = {**config, "num_key_value_heads": config["num_attention_heads"]}
    Path(tmp, "config.json").write_text(json.dumps(mha))
    for name, model in (("GQA", QWEN3.parent), ("MHA", tmp)):
        cfg = ModelConfig(model=str(model), dtype="bfloat16", device="cpu")
        print(f"{name}: {cfg.num_kv_heads} KV heads, "
              f"{cfg.kv_cache_bytes_per_token():,} bytes per token")
