"""Max_model_len comes from config.json, and can only be lowered."""

from folovllm.config import ModelConfig

cpu = ModelConfig(model=None, device="cpu")
print("max_position_embeddings:", cpu.hf_config.max_position_embeddings)
print("derived max_model_len:  ", cpu.derived_max_model_len())
lower = ModelConfig(model=None, device="cpu", max_model_len=2048)
print("asked for 2048:         ", lower.max_model_len)
try:
    ModelConfig(model=None, device="cpu", max_model_len=16384)
except ValueError as exc:
    too_long = str(exc)
    print("asked for 16384:        ", too_long)
