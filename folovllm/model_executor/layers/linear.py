"""Linear layers: the matmul every projection calls, and layers loaded from several tensors.

Checkpoints store ``q_proj``, ``k_proj`` and ``v_proj`` (and ``gate_proj`` / ``up_proj``) as
separate matrices, but they all multiply the same input, so one stacked matrix does the work of
three (or two) in a single, larger, more efficient matmul. Each stacked layer's ``weight_loader``
knows where each checkpoint tensor goes.

Tensor parallelism (Megatron-LM's scheme, as in vLLM) splits each projection over the ranks.
A column-parallel layer holds some rows of ``W`` (some output features): its output is a slice,
and Q/K/V and gate/up slices line up with whole heads and whole MLP units, so attention and the
activation run on them with no communication. The next layer is row-parallel: it holds the matching
columns of its ``W``, multiplies the slice it gets, and one all-reduce sums the partial results.
Every parallel layer's ``weight_loader`` cuts its rank's part out of the full checkpoint tensor,
so one checkpoint loads at any ``tensor_parallel_size``; at size 1 the part is the whole tensor
and the layer computes exactly what its dense twin computes.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

import torch
from torch import nn

from folovllm.distributed.parallel_state import (
    get_tp_rank,
    get_tp_world_size,
    tensor_model_parallel_all_gather,
    tensor_model_parallel_all_reduce,
)

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


def divide(name: str, value: int, tp_size: int) -> int:
    """``value // tp_size``, or a ``ValueError`` naming both numbers when the ranks cannot share
    ``value`` (heads, features) equally."""
    if value % tp_size:
        raise ValueError(f"{name}={value} is not divisible by tensor_parallel_size={tp_size}")
    return value // tp_size


@dataclass(frozen=True)
class Shard:
    """Where one checkpoint tensor's rows go in this rank's stacked weight: rows
    ``[start, start + size)`` of the full tensor (``full`` rows) land at row ``offset``."""

    offset: int
    size: int
    start: int
    full: int


ShardId = str | int | None


def stacked_shards(parts: dict[ShardId, tuple[int, int, int]]) -> dict[ShardId, Shard]:
    """Each part, given as (full rows, rows this rank holds, first row it takes), placed after
    the previous one in this rank's weight."""
    shards, offset = {}, 0
    for key, (full, size, start) in parts.items():
        shards[key] = Shard(offset, size, start, full)
        offset += size
    return shards


# --8<-- [start:column_parallel]
class ColumnParallelLinear(nn.Module):
    """``y = x @ W.T (+ b)`` with ``W``'s rows (output features) split over the ranks: rank ``r``
    holds rows ``[r * n, (r + 1) * n)`` with ``n = output_size / tp`` and outputs that slice of
    ``y``, or, with ``gather_output``, all of ``y`` (an all-gather)."""

    def __init__(self, input_size: int, output_size: int, bias: bool = False,
                 gather_output: bool = False) -> None:
        super().__init__()
        self.tp_rank, self.tp_size = get_tp_rank(), get_tp_world_size()
        self.gather_output = gather_output
        size = divide("output_size", output_size, self.tp_size)
        self.shards = stacked_shards({None: (output_size, size, self.tp_rank * size)})
        self.weight = nn.Parameter(torch.empty(size, input_size))
        self.bias = nn.Parameter(torch.empty(size)) if bias else None

    def weight_loader(self, param: nn.Parameter, loaded: torch.Tensor,
                      shard_id: ShardId = None) -> None:
        """Copy this rank's rows of the full checkpoint tensor ``loaded`` (a weight or a bias)."""
        shard = self.shards[shard_id]
        expected = (shard.full, *param.shape[1:])
        if loaded.shape[0] != shard.full:
            raise ValueError(f"checkpoint tensor for {shard_id!r} has {loaded.shape[0]} rows, "
                             f"expected {shard.full}")
        if tuple(loaded.shape) != expected:
            raise ValueError(f"checkpoint tensor for {shard_id!r} has shape "
                             f"{tuple(loaded.shape)}, expected {expected}")
        param.data.narrow(0, shard.offset, shard.size).copy_(
            loaded.narrow(0, shard.start, shard.size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = linear(x, self.weight, self.bias)
        return tensor_model_parallel_all_gather(y) if self.gather_output else y
# --8<-- [end:column_parallel]


# --8<-- [start:merged_qkv]
class MergedColumnParallelLinear(ColumnParallelLinear):
    """Several column-parallel matrices (the MLP's gate and up) as one matmul.

    Each matrix is split on its own, so rank ``r`` holds gate shard ``r`` then up shard ``r``:
    its output pairs every gate feature with its up feature, as ``SiluAndMul`` needs. Splitting
    the stacked matrix as a whole would give rank 0 all of gate and rank 1 all of up.
    Checkpoint tensors load with ``shard_id`` = their index in ``output_sizes``.
    """

    def __init__(self, input_size: int, output_sizes: list[int], bias: bool = False) -> None:
        tp_size = get_tp_world_size()
        sizes = [divide(f"output_sizes[{i}]", n, tp_size) for i, n in enumerate(output_sizes)]
        super().__init__(input_size, sum(output_sizes), bias)
        self.shards = stacked_shards({i: (full, size, self.tp_rank * size) for i, (full, size)
                                      in enumerate(zip(output_sizes, sizes))})


class QKVParallelLinear(ColumnParallelLinear):
    """The query, key and value projections as one column-parallel matmul, split by heads.

    Each rank holds ``num_heads / tp`` query heads and their key/value heads. With at least as
    many KV heads as ranks, the KV heads are split too; with fewer (GQA, MQA), each KV head is
    replicated on ``tp / num_kv_heads`` consecutive ranks and every rank holds one: rank ``r``
    holds KV head ``r // num_kv_head_replicas``, the one its query heads attend with.
    ``num_heads``, ``num_kv_heads`` and the sizes below are this rank's.
    Checkpoint tensors load with ``shard_id`` ``"q"``, ``"k"`` or ``"v"``.
    """

    def __init__(self, hidden: int, head_dim: int, num_heads: int, num_kv_heads: int,
                 bias: bool = False) -> None:
        tp_rank, tp_size = get_tp_rank(), get_tp_world_size()
        if num_kv_heads < tp_size and tp_size % num_kv_heads:
            raise ValueError(f"tensor_parallel_size={tp_size} is not divisible by "
                             f"num_kv_heads={num_kv_heads}")
        replicas = max(1, tp_size // num_kv_heads)
        heads = divide("num_heads", num_heads, tp_size)
        kv_heads = divide("num_kv_heads", num_kv_heads * replicas, tp_size)
        super().__init__(hidden, (heads + 2 * kv_heads) * head_dim * tp_size, bias)
        self.head_dim, self.num_heads, self.num_kv_heads = head_dim, heads, kv_heads
        self.num_kv_head_replicas = replicas
        self.q_size, self.kv_size = heads * head_dim, kv_heads * head_dim
        kv_start = tp_rank // replicas * self.kv_size
        kv = (num_kv_heads * head_dim, self.kv_size, kv_start)
        self.shards = stacked_shards({"q": (num_heads * head_dim, self.q_size,
                                            tp_rank * self.q_size), "k": kv, "v": kv})
# --8<-- [end:merged_qkv]


# --8<-- [start:row_parallel]
class RowParallelLinear(nn.Module):
    """``y = x @ W.T (+ b)`` with ``W``'s columns (input features) split over the ranks: rank
    ``r`` holds columns ``[r * n, (r + 1) * n)`` with ``n = input_size / tp``, multiplies the
    matching slice of ``x`` (the previous column-parallel layer's output, or, without
    ``input_is_parallel``, its own cut of the full ``x``), and one all-reduce sums the partial
    products. Every rank holds the whole bias and adds it once, after the sum; with
    ``reduce_results=False`` the caller sums the ranks' outputs, so only rank 0 adds it.
    """

    def __init__(self, input_size: int, output_size: int, bias: bool = False,
                 input_is_parallel: bool = True, reduce_results: bool = True) -> None:
        super().__init__()
        self.tp_rank, self.tp_size = get_tp_rank(), get_tp_world_size()
        self.input_size, self.input_is_parallel = input_size, input_is_parallel
        self.reduce_results = reduce_results
        self.input_size_per_partition = divide("input_size", input_size, self.tp_size)
        self.weight = nn.Parameter(torch.empty(output_size, self.input_size_per_partition))
        self.bias = nn.Parameter(torch.empty(output_size)) if bias else None

    def weight_loader(self, param: nn.Parameter, loaded: torch.Tensor,
                      shard_id: ShardId = None) -> None:
        """This rank's columns of the full checkpoint weight ``loaded``; the bias whole."""
        expected = (param.shape[0], self.input_size) if param is self.weight else param.shape
        if loaded.shape != expected:
            raise ValueError(f"checkpoint tensor has shape {tuple(loaded.shape)}, expected "
                             f"{tuple(expected)}")
        if param is self.weight:
            n = self.input_size_per_partition
            loaded = loaded.narrow(1, self.tp_rank * n, n)
        param.data.copy_(loaded)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.input_is_parallel:
            n = self.input_size_per_partition
            x = x.narrow(-1, self.tp_rank * n, n)
        if self.tp_size == 1:
            return linear(x, self.weight, self.bias)
        y = linear(x, self.weight)
        if not self.reduce_results:
            return y + self.bias if self.bias is not None and self.tp_rank == 0 else y
        y = tensor_model_parallel_all_reduce(y)
        return y + self.bias if self.bias is not None else y
# --8<-- [end:row_parallel]
