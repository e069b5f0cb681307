"""`dtype="auto"` keeps the checkpoint's bf16 on a GPU, fp32 on a CPU."""

import copy

from folovllm.config import ModelConfig

cpu = ModelConfig(model=None, device="cpu")  # the default model, config only
print("checkpoint:", cpu.checkpoint_dtype)
print("auto on cpu:", cpu.torch_dtype)

gpu_view = copy.copy(cpu)  # the same rule as a GPU machine sees it
gpu_view.device = "cuda"
print("auto on cuda:", gpu_view._resolve_dtype())

explicit = ModelConfig(model=None, device="cpu", dtype="bfloat16")
print("explicit bfloat16 on cpu:", explicit.torch_dtype)
try:
    ModelConfig(model=None, device="cpu", dtype="fp8")
except ValueError as exc:
    bad = str(exc)
    print(bad.split(":")[0])
