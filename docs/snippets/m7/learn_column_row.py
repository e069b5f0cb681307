"""An MLP split over 2 ranks: column-parallel gate/up, row-parallel down.

Each rank holds half of the intermediate features: it computes them in full
(the activation needs nothing from the other rank), multiplies them by its
half of the down projection's columns, and gets a partial result. One sum
(the all-reduce) gives the dense output.
"""
import torch

torch.manual_seed(0)
H, INTER, N = 8, 16, 2
x = torch.randn(3, H)
gate, up = torch.randn(INTER, H), torch.randn(INTER, H)
down = torch.randn(H, INTER)


def mlp(x, gate, up, down):
    return (torch.nn.functional.silu(x @ gate.T) * (x @ up.T)) @ down.T


dense = mlp(x, gate, up, down)
n = INTER // N
partials = [mlp(x, gate[r * n:(r + 1) * n], up[r * n:(r + 1) * n],
                down[:, r * n:(r + 1) * n]) for r in range(N)]
print("each rank's partial output:", tuple(partials[0].shape))
print("sum of partials == dense:", torch.allclose(sum(partials), dense,
                                                  atol=1e-4))
# Splitting gate/up by their input columns instead would give partial
# pre-activations: silu(a + b) != silu(a) + silu(b), so a sum would be
# needed before the activation too: two collectives instead of one.
h = x @ gate.T
a, b = x[:, :H // 2] @ gate[:, :H // 2].T, x[:, H // 2:] @ gate[:, H // 2:].T
print("silu(a + b) == silu(a) + silu(b):", torch.allclose(
    torch.nn.functional.silu(h),
    torch.nn.functional.silu(a) + torch.nn.functional.silu(b)))
