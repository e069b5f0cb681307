"""A toy CUDA graph in plain Python, on the CPU. Capture records each kernel
launch as (kernel, tensors) without running it; replay runs the recorded
list again. Like a real graph it keeps the tensors it was given (their
memory), never their values, and no Python but the kernels runs again."""

from collections.abc import Callable

import torch

Kernel = Callable[..., None]


class ToyGraph:
    def __init__(self) -> None:
        self.kernels: list[tuple[Kernel, tuple[torch.Tensor, ...]]] = []
        self.capturing = False

    def launch(self, kernel: Kernel, *tensors: torch.Tensor) -> None:
        """Run a kernel now (eager) or record it (during a capture)."""
        if self.capturing:
            self.kernels.append((kernel, tensors))
        else:
            kernel(*tensors)

    def capture(self, forward: Callable[[], None]) -> None:
        self.capturing = True
        forward()
        self.capturing = False

    def replay(self) -> None:
        for kernel, tensors in self.kernels:
            kernel(*tensors)


def matmul(x: torch.Tensor, w: torch.Tensor, out: torch.Tensor) -> None:
    torch.mm(x, w, out=out)


def mul(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
    torch.mul(a, b, out=out)


def relu(x: torch.Tensor, out: torch.Tensor) -> None:
    torch.clamp(x, min=0, out=out)
