"""Column and row parallelism on one matrix, two 'ranks' in one process:
a column split gives each rank a slice of y (concatenate); a row split
gives each rank a partial y (add)."""

import torch

torch.manual_seed(0)
x, w = torch.randn(3, 8), torch.randn(6, 8)     # y = x @ w.T: [3, 6]
y = x @ w.T
n = 2
col = [x @ w[r * 3:(r + 1) * 3].T for r in range(n)]       # w's rows
row = [x[:, r * 4:(r + 1) * 4] @ w[:, r * 4:(r + 1) * 4].T  # w's columns
       for r in range(n)]
print("column: each rank", tuple(col[0].shape), "-> cat",
      torch.allclose(torch.cat(col, -1), y))
print("row:    each rank", tuple(row[0].shape), "-> sum",
      torch.allclose(sum(row), y, atol=1e-6))
