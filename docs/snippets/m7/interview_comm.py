"""What tensor parallelism sends per token: one all-reduce of hidden_size
values after attention and one after the MLP in every layer, plus one
after the embedding. bf16 activations; a ring all-reduce makes each rank
send 2 (N - 1) / N of the buffer."""

from pathlib import Path

from transformers import AutoConfig

import folovllm.benchmarks
from folovllm.config import ModelConfig

qwen = AutoConfig.from_pretrained(
    Path(folovllm.benchmarks.__file__).parent / "configs" / "qwen3-0.6b")
smol = ModelConfig(model=None, device="cpu").hf_config
models = {m: (c.hidden_size, c.num_hidden_layers)
          for m, c in (("Qwen3-0.6B", qwen), ("SmolLM2-135M", smol))}
for name, (hidden, layers) in models.items():
    reduces = 2 * layers + 1
    buffer = reduces * hidden * 2                    # bytes per token
    print(f"{name}: {reduces} all-reduces of {hidden} values, "
          f"{buffer:,} bytes per token")
    for n in (2, 4, 8):
        sent = 2 * (n - 1) / n * buffer
        print(f"  TP={n}: each rank sends {sent / 1024:6.1f} KiB per token, "
              f"{sent * 1000 / 2**20:6.1f} MiB per 1000 tokens")
