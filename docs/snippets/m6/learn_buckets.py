"""Which captured size a decode batch replays, and the rows it pads.

The default sizes for max_num_seqs=256, and CUDAGraphRunner.padded_size,
the rule the runner applies every step. The runner is built on the CPU
here: choosing a size needs no GPU (capturing one does).
"""

import torch

from folovllm.config import default_cuda_graph_sizes
from folovllm.worker.cuda_graph import CUDAGraphRunner

sizes = default_cuda_graph_sizes(256)
print(f"{len(sizes)} sizes: {sizes[:6]} ... {sizes[-3:]}")
graphs = CUDAGraphRunner(sizes, 8, torch.float32, torch.device("cpu"))

print("batch  replays  padding rows")
for n in (1, 3, 5, 9, 20, 100, 129, 250, 256):
    size = graphs.padded_size(n)
    print(f"{n:5d}  {size:7d}  {size - n:4d} ({(size - n) / size:.0%})")

waste = [graphs.padded_size(n) - n for n in range(1, 257)]
print(f"batches 1..256: at most {max(waste)} padding rows, "
      f"{sum(waste) / len(waste):.1f} on average")
print("max_num_seqs=300:", default_cuda_graph_sizes(300)[-4:])
few = CUDAGraphRunner([1, 2, 4, 8], 8, torch.float32, torch.device("cpu"))
print("sizes [1, 2, 4, 8], a batch of 9:", few.padded_size(9), "(eager)")
