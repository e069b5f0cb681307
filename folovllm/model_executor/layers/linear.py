"""Linear layers whose weights are loaded from several checkpoint tensors.

Checkpoints store ``q_proj``, ``k_proj`` and ``v_proj`` (and ``gate_proj`` / ``up_proj``) as
separate matrices, but they all multiply the same input, so one stacked matrix does the work of
three (or two) in a single, larger, more efficient matmul. Each stacked layer's ``weight_loader``
knows where each checkpoint tensor goes. Tensor parallelism (M7) will shard these same layers.
"""

from __future__ import annotations

import torch
from torch import nn


class StackedLinear(nn.Module):
    """``y = x @ W.T (+ b)`` where ``W`` stacks named sub-matrices along the output dim."""

    def __init__(self, input_size: int, output_sizes: dict[str, int], bias: bool = False) -> None:
        super().__init__()
        self.offsets: dict[str, tuple[int, int]] = {}
        start = 0
        for name, size in output_sizes.items():
            self.offsets[name] = (start, size)
            start += size
        self.weight = nn.Parameter(torch.empty(start, input_size))
        self.bias = nn.Parameter(torch.empty(start)) if bias else None

    def weight_loader(self, param: nn.Parameter, loaded: torch.Tensor, shard: str) -> None:
        start, size = self.offsets[shard]
        if loaded.shape[0] != size:
            raise ValueError(f"checkpoint tensor for {shard!r} has {loaded.shape[0]} rows, "
                             f"expected {size}")
        param.data[start:start + size].copy_(loaded)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias)


class QKVLinear(StackedLinear):
    """The query, key and value projections as one matmul (GQA: fewer K/V heads than Q heads)."""

    def __init__(self, hidden: int, head_dim: int, num_heads: int, num_kv_heads: int,
                 bias: bool = False) -> None:
        super().__init__(hidden, {"q": num_heads * head_dim, "k": num_kv_heads * head_dim,
                                  "v": num_kv_heads * head_dim}, bias)
        self.q_size, self.kv_size = num_heads * head_dim, num_kv_heads * head_dim


class MergedLinear(StackedLinear):
    """The MLP's gate and up projections as one matmul, feeding ``SiluAndMul``."""

    def __init__(self, hidden: int, intermediate: int, bias: bool = False) -> None:
        super().__init__(hidden, {"gate": intermediate, "up": intermediate}, bias)
