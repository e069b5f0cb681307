"""How the GPU tests choose batch sizes: some hit a captured size, some pad
to one (default sizes for max_num_seqs = 256), so both the exact and the
padded replay are compared with eager steps, token for token."""

import torch

from folovllm.config import default_cuda_graph_sizes
from folovllm.worker.cuda_graph import CUDAGraphRunner

graphs = CUDAGraphRunner(default_cuda_graph_sizes(256), 8, torch.float32,
                         torch.device("cpu"))
for n in (1, 3, 8, 13, 64, 255):     # tests/gpu/test_m6_gpu.py's sizes
    size = graphs.padded_size(n)
    kind = "exact" if size == n else f"pads {size - n} rows"
    print(f"{n:3d} sequences start decoding together: graph {size:3d}, "
          f"{kind}")
