"""Small helpers shared by the runner and the sampler."""

from __future__ import annotations

import torch


def to_device(t: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """A host tensor on ``device``. On CUDA it goes through pinned memory with a non-blocking
    copy: a plain ``.to("cuda")`` of pageable memory makes the host wait until the GPU has
    drained its queue, once per call."""
    if torch.device(device).type == "cuda":
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)
