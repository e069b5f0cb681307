"""An MLP block over 2 'ranks': gate/up column-parallel, down
row-parallel. Each rank runs SiLU on its own slice, and the block needs
one sum over the ranks, at the end."""

import torch
from torch.nn.functional import silu

torch.manual_seed(0)
hidden, inter, n = 8, 12, 2
x = torch.randn(4, hidden)
gate, up = torch.randn(inter, hidden), torch.randn(inter, hidden)
down = torch.randn(hidden, inter)
dense = (silu(x @ gate.T) * (x @ up.T)) @ down.T

k = inter // n
partial = []
for r in range(n):
    s = slice(r * k, (r + 1) * k)               # this rank's MLP units
    h = silu(x @ gate[s].T) * (x @ up[s].T)     # local: no communication
    partial.append(h @ down[:, s].T)            # a partial sum of y
print("per rank: h", tuple(h.shape), "partial y", tuple(partial[0].shape))
print("all-reduce of the partials == dense:",
      torch.allclose(sum(partial), dense, atol=1e-4))
g = [x[:, r * 4:(r + 1) * 4] @ gate[:, r * 4:(r + 1) * 4].T for r in range(n)]
print("SiLU of partial sums, summed == SiLU of the sum:",
      torch.allclose(silu(g[0]) + silu(g[1]), silu(g[0] + g[1])))
