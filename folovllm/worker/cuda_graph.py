"""CUDA graphs for decode steps: record a step's kernel launches once, replay them every step.

A decode step of a small model is bound by the host, not the GPU: each of its few hundred small
kernels costs the CPU a few microseconds to launch through PyTorch, about as long as the GPU
takes to run it. A CUDA graph records those launches once, with their arguments, and replays them
with one call: the GPU then runs the kernels back to back while the host does other work.

A graph replays exactly what it recorded: the same kernels, the same grid sizes, the same
addresses. So each graph is captured for one batch size, reads its inputs from fixed buffers
(the runner's step buffers, filled before each replay) and writes its output to a fixed buffer;
a step of ``n`` sequences pads to the smallest captured size ``>= n`` with empty rows. Only
uniform decode steps (one query per sequence) are captured: a step with longer queries has a
shape that changes every step, and runs eagerly (vLLM's ``FULL_DECODE_ONLY`` mode).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable

import torch

logger = logging.getLogger(__name__)


# --8<-- [start:graphs]
class CUDAGraphRunner:
    """One captured graph per batch size, all allocating from one memory pool.

    ``forward(size)`` runs the model on the first ``size`` rows of the step buffers and returns
    its hidden states; each graph copies them into ``hidden``, one buffer shared by every size.
    Graphs are captured largest first: the memory a graph needs for its activations is freed
    inside the pool when its capture ends, so each smaller graph reuses it instead of taking
    more (the graphs never run at the same time).
    """

    def __init__(self, sizes: list[int], hidden_size: int, dtype: torch.dtype,
                 device: torch.device) -> None:
        self.sizes = sorted(sizes)
        self.hidden = torch.zeros(self.sizes[-1], hidden_size, dtype=dtype, device=device)
        self.graphs: dict[int, torch.cuda.CUDAGraph] = {}
        self.pool: tuple[int, int] | None = None
        self.memory_bytes = 0   # device memory the captured graphs hold, measured
        self.num_replays = 0    # decode steps that ran as a graph (what tests and benchmarks ask)

    def padded_size(self, num_seqs: int) -> int | None:
        """The captured size a batch of ``num_seqs`` replays (None: larger than every graph)."""
        i = bisect.bisect_left(self.sizes, num_seqs)
        return self.sizes[i] if i < len(self.sizes) else None

    def capture(self, forward: Callable[[int], torch.Tensor]) -> int:
        """Capture ``forward`` at every size; returns the device memory the graphs took.

        Each size runs once eagerly first: Triton compiles its kernels and cuBLAS picks its
        algorithms on a first call, neither of which may happen inside a capture.
        """
        start = time.perf_counter()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()   # as each capture does on entry: measure from the same floor
        free_before = torch.cuda.mem_get_info()[0]
        for size in reversed(self.sizes):
            forward(size)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self.pool):
                self.hidden[:size] = forward(size)
            self.pool = self.pool or graph.pool()
            self.graphs[size] = graph
        torch.cuda.synchronize()
        self.memory_bytes = free_before - torch.cuda.mem_get_info()[0]
        logger.info("captured %d CUDA graphs (batch sizes %d..%d) in %.1f s, %.1f MiB",
                    len(self.graphs), self.sizes[0], self.sizes[-1],
                    time.perf_counter() - start, self.memory_bytes / 2**20)
        return self.memory_bytes

    def replay(self, size: int) -> torch.Tensor:
        """Run the graph of ``size`` on what the step buffers hold now: ``[size, hidden]``."""
        self.graphs[size].replay()
        self.num_replays += 1
        return self.hidden[:size]

    def release(self) -> None:
        """Drop every graph and its pool (the profiling run's graphs, captured only to be
        measured)."""
        self.graphs.clear()
        self.pool = None
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
# --8<-- [end:graphs]
