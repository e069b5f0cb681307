"""One full checkpoint tensor loads at any TP size: each rank's
weight_loader cuts its own part; the parts put together are the tensor."""

import torch

from docs.snippets.m7.as_rank import as_rank
from folovllm.model_executor.layers.linear import (ColumnParallelLinear,
                                                   RowParallelLinear)

full = torch.randn(12, 6)                 # as stored: [out, in]
for tp in (1, 2, 3):
    cols, rows = [], []
    for r in range(tp):
        with as_rank(r, tp):
            c, w = ColumnParallelLinear(6, 12), RowParallelLinear(12, 6)
        c.weight_loader(c.weight, full)
        w.weight_loader(w.weight, full.T)
        cols.append(c.weight.data)
        rows.append(w.weight.data)
    same = (torch.equal(torch.cat(cols), full)
            and torch.equal(torch.cat(rows, 1), full.T))
    print(f"TP={tp}: column part {tuple(cols[0].shape)}, row part "
          f"{tuple(rows[0].shape)}, reassembled == full: {same}")
