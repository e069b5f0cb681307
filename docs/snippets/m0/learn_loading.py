"""The real default model and its dummy twin: same shapes, other numbers."""

import torch

from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_hf_model, load_tokenizer

real_cfg = ModelConfig(model=None, device="cpu")
dummy_cfg = ModelConfig(model=None, device="cpu", load_format="dummy", seed=0)
real, dummy = load_hf_model(real_cfg), load_hf_model(dummy_cfg)
real_sd, dummy_sd = real.state_dict(), dummy.state_dict()
w = "model.layers.0.self_attn.q_proj.weight"
print("parameters:", f"{sum(p.numel() for p in real.parameters()):,}")
print(f"{w}: {tuple(real_sd[w].shape)} in both, "
      f"equal: {torch.equal(real_sd[w], dummy_sd[w])}")
print("Hello world ->", load_tokenizer(real_cfg)("Hello world").input_ids)
