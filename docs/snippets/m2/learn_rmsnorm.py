"""RMSNorm with the residual add folded in: one call, two results."""

import torch

from folovllm.model_executor.layers.layernorm import RMSNorm

torch.manual_seed(0)
norm = RMSNorm(8, eps=1e-6)
norm.weight.data = torch.linspace(0.5, 2.0, 8)
x, r = torch.randn(3, 8), torch.randn(3, 8)
out, new_residual = norm(x, r)  # h = x + r; returns (norm(h), h)
h = x + r
rms = h.pow(2).mean(-1, keepdim=True).add(1e-6).rsqrt()
print("new residual == x + r:", torch.allclose(new_residual, h))
print("out == h * rsqrt(mean(h^2) + eps) * weight:",
      torch.allclose(out, h * rms * norm.weight))
