"""M0 example: load the embedded default model and print what matters for serving it.

Run: python examples/m0_model_summary.py [model_dir]
"""

import sys

import torch

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_hf_model, summarize_model


def main() -> None:
    config = ModelConfig(model=sys.argv[1] if len(sys.argv) > 1 else None, device="cpu")
    summary = summarize_model(config, load_hf_model(config))
    print(summary.format())
    per_token = config.kv_cache_bytes_per_token(torch.bfloat16)
    print(f"\nIn bf16 one token's K and V take {per_token:,} bytes; a full "
          f"{config.max_model_len}-token context takes {per_token * config.max_model_len / 2**20:.0f} MiB.")


if __name__ == "__main__":
    main()
