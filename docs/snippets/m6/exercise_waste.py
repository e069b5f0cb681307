"""Padding waste over a whole run: 256 requests start decoding together
with output lengths uniform in [100, 1024] (the nano-vllm workload's
range, seed 0); each decode step replays the graph its batch pads to.
Rows computed for nothing, over all steps, for three sets of sizes."""

import random

import torch

from folovllm.config import default_cuda_graph_sizes
from folovllm.worker.cuda_graph import CUDAGraphRunner

rng = random.Random(0)
lengths = [rng.randint(100, 1024) for _ in range(256)]
batches = [sum(n > t for n in lengths) for t in range(max(lengths))]
size_sets = {"default": default_cuda_graph_sizes(256),
             "powers of two": [2**i for i in range(9)],
             "only 256": [256]}
for name, sizes in size_sets.items():
    r = CUDAGraphRunner(sizes, 8, torch.float32, torch.device("cpu"))
    padded = sum(r.padded_size(n) for n in batches)
    real = sum(batches)
    print(f"{name:13s} ({len(sizes):2d} graphs): {padded - real:7,d} empty "
          f"rows, {(padded - real) / padded:5.1%} of the rows computed")
