"""SiLU-and-multiply: the gated MLP's activation on a fused gate/up projection."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SiluAndMul(nn.Module):
    """``silu(gate) * up`` where the input is ``[..., 2 * d]`` = ``[gate | up]``.

    The gate and up projections read the same input, so they are one matrix multiply with the two
    weights stacked (``MergedLinear``); this splits the result and combines it.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = x.chunk(2, dim=-1)
        return F.silu(gate) * up
