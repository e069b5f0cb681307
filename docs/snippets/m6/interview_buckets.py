"""Buckets: which graph a decode batch replays, and the padding it costs,
with the default capture sizes for max_num_seqs = 256 and with powers of
two. The runner's own CUDAGraphRunner.padded_size, built on the CPU (it
captures nothing here: it only answers which size a batch pads to)."""

import torch

from folovllm.config import default_cuda_graph_sizes
from folovllm.worker.cuda_graph import CUDAGraphRunner


def runner(sizes: list[int]) -> CUDAGraphRunner:
    return CUDAGraphRunner(sizes, 8, torch.float32, torch.device("cpu"))


default = runner(default_cuda_graph_sizes(256))
pow2 = runner([2**i for i in range(9)])
print(f"default sizes ({len(default.sizes)}):", default.sizes[:6], "...",
      default.sizes[-2:])
for n in (1, 3, 13, 100, 129, 255):
    d, p = default.padded_size(n), pow2.padded_size(n)
    print(f"batch {n:3d}: default -> {d:3d} ({d - n:2d} empty rows), "
          f"powers of two -> {p:3d} ({p - n:3d})")
batches = range(1, 257)
for name, r in (("default", default), ("powers of two", pow2)):
    waste = [r.padded_size(n) - n for n in batches]
    print(f"{name:13s}: worst {max(waste):3d} empty rows, mean "
          f"{sum(waste) / len(waste):5.2f} over batches 1..256")
