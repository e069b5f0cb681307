"""Linear layers: the matmul every projection calls, and layers loaded from several tensors.

Checkpoints store ``q_proj``, ``k_proj`` and ``v_proj`` (and ``gate_proj`` / ``up_proj``) as
separate matrices, but they all multiply the same input, so one stacked matrix does the work of
three (or two) in a single, larger, more efficient matmul. Each stacked layer's ``weight_loader``
knows where each checkpoint tensor goes. Tensor parallelism (M7) will shard these same layers.
"""

from __future__ import annotations

import platform

import torch
from torch import nn

HAS_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn,
                                                               "_linear_pointwise")
# Where float32 CPU matmuls go to oneDNN: x86-64, the only kind of CPU it was measured on.
ONEDNN_LINEAR = HAS_ONEDNN and platform.machine().lower() in ("x86_64", "amd64")


# --8<-- [start:linear]
def onednn_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """``F.linear`` computed by oneDNN's matmul: a private PyTorch op, which PyTorch's own
    Inductor compiler also emits for linear layers on the CPU."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, "none", [], "")


def use_onednn(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether :func:`linear` hands this matmul to oneDNN: float32 on an x86-64 CPU."""
    return ONEDNN_LINEAR and x.device.type == "cpu" and x.dtype == weight.dtype == torch.float32


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None
           ) -> torch.Tensor:
    """``x @ weight.T (+ bias)``, as ``F.linear``, through oneDNN for float32 on an x86-64 CPU.

    Why: PyTorch's CPU ``F.linear`` in float32 calls MKL's sgemm, whose fastest kernels are
    tuned for Intel processors; oneDNN, also inside PyTorch, picks its kernels by instruction set
    alone. On the AMD EPYC this project is developed on, oneDNN runs the default model's linear
    layers about twice as fast (``python -m benchmarks.gemm``; the benchmarks page has
    the table). The sums are ordered differently, so results differ from ``F.linear``'s in the
    last bits, as ``F.linear``'s own do between batch sizes.
    """
    if use_onednn(x, weight):
        return onednn_linear(x, weight, bias)
    return nn.functional.linear(x, weight, bias)


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters, same checkpoint names) whose forward is :func:`linear`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias)
# --8<-- [end:linear]


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
        return linear(x, self.weight, self.bias)


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
