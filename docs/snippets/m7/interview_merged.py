"""MergedColumnParallelLinear at rank r of 2: gate shard r then up shard r,
so SiluAndMul pairs each gate feature with its own up feature."""

import torch

from docs.snippets.m7.as_rank import as_rank
from folovllm.model_executor.layers.linear import MergedColumnParallelLinear

gate = torch.arange(4.0).repeat_interleave(2).view(4, 2)        # rows g0..g3
up = 10 + torch.arange(4.0).repeat_interleave(2).view(4, 2)     # rows u0..u3
for r in range(2):
    with as_rank(r, 2):
        layer = MergedColumnParallelLinear(2, [4, 4])
    layer.weight_loader(layer.weight, gate, 0)
    layer.weight_loader(layer.weight, up, 1)
    print(f"rank {r} holds rows {layer.weight[:, 0].tolist()}")
stacked = torch.cat([gate, up])
print("splitting the stack instead: rank 0", stacked[:4, 0].tolist(),
      "rank 1", stacked[4:, 0].tolist())
