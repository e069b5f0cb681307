"""Two kinds of test: each parallel layer against its dense twin (here at
world size 1, where they must agree bit for bit), and the engine's greedy
ids at TP=1 against TP=N (the tests under tests/m7 run both over gloo)."""

import re
from pathlib import Path

import torch

from folovllm.model_executor.layers.linear import (Linear,
                                                   QKVParallelLinear,
                                                   RowParallelLinear)

x, w = torch.randn(5, 8), torch.randn(8, 8)
dense = Linear(8, 8, bias=False)
dense.weight.data.copy_(w)
row = RowParallelLinear(8, 8)
row.weight_loader(row.weight, w)
qkv = QKVParallelLinear(8, 2, 2, 1)
for shard, rows in (("q", w[:4]), ("k", w[4:6]), ("v", w[6:])):
    qkv.weight_loader(qkv.weight, rows, shard)
print("row-parallel == dense:", torch.equal(row(x), dense(x)))
print("qkv-parallel == dense:", torch.equal(qkv(x), dense(x)))
for name in ("test_parallel_layers", "test_tensor_parallel"):
    tests = re.findall(r"^def (test_\w+)", Path(f"tests/m7/{name}.py")
                       .read_text(), re.M)
    print(f"tests/m7/{name}.py: {len(tests)} tests")
