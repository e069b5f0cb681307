"""The tensor-parallel process group and the collectives the parallel layers call.

Every rank runs the same model code on its own shard of each weight; the layers meet only in
these collectives: an all-reduce after a row-parallel matmul and after the vocab-parallel
embedding, a gather of the LM head's logits to the rank that samples. The group is the whole
world (there is no pipeline parallelism), so each helper uses ``torch.distributed``'s default
group. Without a process group the world size is 1 and every helper does nothing: a single
process (``tensor_parallel_size=1``) runs the same layers unsharded, with no group to set up.
"""

from __future__ import annotations

from datetime import timedelta

import torch
import torch.distributed as dist


def init_distributed(world_size: int, rank: int, init_method: str, backend: str,
                     timeout_s: float | None = None) -> None:
    """Join this process to the group of ``world_size`` ranks that ``init_method`` (a
    ``tcp://host:port`` or ``file://path`` rendezvous) brings together.

    ``backend`` is ``"gloo"`` for CPU tensors and ``"nccl"`` for CUDA ones; with NCCL each rank
    must select its own CUDA device before calling this, since NCCL reduces on the current device.
    ``timeout_s`` bounds how long the rendezvous and each collective wait for the other ranks
    (``torch.distributed``'s default, 30 minutes for gloo, when ``None``).
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank={rank} is invalid: it must be in [0, world_size={world_size})")
    timeout = None if timeout_s is None else timedelta(seconds=timeout_s)
    dist.init_process_group(backend, init_method=init_method, world_size=world_size, rank=rank,
                            timeout=timeout)


def destroy_distributed() -> None:
    """Leave the group (if any), so that the process can exit or join another one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def get_tp_world_size() -> int:
    """How many ranks share each layer: 1 when no process group exists."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def get_tp_rank() -> int:
    """This process's rank in the tensor-parallel group: 0 when no process group exists."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


# --8<-- [start:collectives]
def tensor_model_parallel_all_reduce(x: torch.Tensor,
                                     op: dist.ReduceOp.RedOpType = dist.ReduceOp.SUM
                                     ) -> torch.Tensor:
    """Sum ``x`` over all ranks, in place: every rank gets the full sum of the partial results
    (or, with ``op``, their minimum, maximum...)."""
    if get_tp_world_size() > 1:
        dist.all_reduce(x, op=op)
    return x
# --8<-- [end:collectives]


def tensor_model_parallel_broadcast(x: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Rank ``src``'s ``x`` on every rank, in place (every rank passes a tensor of its shape):
    how the tokens rank 0 sampled reach the others."""
    if get_tp_world_size() > 1:
        dist.broadcast(x, src=src)
    return x


def tensor_model_parallel_all_gather(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Every rank's ``x`` concatenated in rank order along ``dim``, on every rank."""
    world = get_tp_world_size()
    if world == 1:
        return x
    x = x.contiguous()
    parts = [torch.empty_like(x) for _ in range(world)]
    dist.all_gather(parts, x)
    return torch.cat(parts, dim=dim)


# --8<-- [start:gather]
def tensor_model_parallel_gather(x: torch.Tensor, dst: int = 0, dim: int = -1
                                 ) -> torch.Tensor | None:
    """Every rank's ``x`` concatenated in rank order along ``dim`` on rank ``dst`` only, ``None``
    on the others: the logits go to the one rank that samples, and no other rank pays for them."""
    world = get_tp_world_size()
    if world == 1:
        return x
    x = x.contiguous()
    parts = [torch.empty_like(x) for _ in range(world)] if get_tp_rank() == dst else None
    dist.gather(x, parts, dst=dst)
    return torch.cat(parts, dim=dim) if parts is not None else None
# --8<-- [end:gather]
