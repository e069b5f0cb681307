"""RMSNorm, with the residual add fused in.

A decoder layer does ``residual = x; x = norm(x); ...; x = x + residual`` twice. Passing the
residual into the norm lets one call do the add and the norm, and return the new residual: one
read of ``x`` instead of two (a fused kernel on GPU does it in a single pass).

The arithmetic follows ``transformers`` exactly (normalise in float32, cast back, then scale), so
our logits match theirs bit for bit in float32. On CUDA the same arithmetic runs as one Triton
kernel (``triton_ops.rms_norm``): the eight PyTorch ops would be eight kernel launches.
"""

from __future__ import annotations

import importlib.util

import torch
from torch import nn

HAS_TRITON = importlib.util.find_spec("triton") is not None


class RMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def _norm(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``norm(x)``, or with ``residual``: ``(norm(x + residual), x + residual)``."""
        if x.is_cuda and HAS_TRITON and self.weight.dtype == x.dtype:
            from folovllm.model_executor.layers import triton_ops

            return triton_ops.rms_norm(x, self.weight, self.eps, residual)
        if residual is None:
            return self._norm(x)
        x = x + residual
        return self._norm(x), x
