"""Exercise: RMSNorm of [3, 4], and with a residual of [1, 1] added first."""

import torch

from folovllm.model_executor.layers.layernorm import RMSNorm


def show(t: torch.Tensor) -> list[float]:
    return [round(v, 4) for v in t[0].tolist()]


norm = RMSNorm(2, eps=0.0)  # weight starts at ones
x = torch.tensor([[3.0, 4.0]])
print("rms_norm([3, 4]):", show(norm(x)))
out, residual = norm(x, torch.tensor([[1.0, 1.0]]))  # x + residual, then norm
print("with residual [1, 1]:", show(out), "new residual", show(residual))
