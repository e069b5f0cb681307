"""A row-parallel layer's bias: added once, after the ranks' partial sums
are added, or on every rank before the sum (the bug). RowParallelLinear
with reduce_results=False returns the partial sums, the bias on rank 0
only, so the sum over ranks is the dense result."""

import torch

from docs.snippets.m7.as_rank import as_rank
from folovllm.model_executor.layers.linear import RowParallelLinear

torch.manual_seed(0)
x, w, b = torch.randn(2, 6), torch.randn(4, 6), torch.ones(4)
dense = x @ w.T + b
for n in (2, 3):
    parts, buggy = [], []
    for r in range(n):
        with as_rank(r, n):
            layer = RowParallelLinear(6, 4, bias=True, reduce_results=False)
        layer.weight_loader(layer.weight, w)
        layer.weight_loader(layer.bias, b)
        k = 6 // n
        part = layer(x[:, r * k:(r + 1) * k])
        parts.append(part)
        buggy.append(part if r == 0 else part + b)   # every rank adds b
    ok = torch.allclose(sum(parts), dense, atol=1e-5)
    off = (sum(buggy) - dense).mean().item()
    print(f"TP={n}: bias once == dense: {ok}; bias on every rank: "
          f"off by {off:.2f}")
