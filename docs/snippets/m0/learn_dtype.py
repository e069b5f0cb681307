"""What dtype="auto" picks for the default model on a CPU."""

from folovllm.config import ModelConfig

m = ModelConfig(model=None, device="cpu")  # dtype="auto"
print("checkpoint:", m.checkpoint_dtype, "-> runs in:", m.torch_dtype)
