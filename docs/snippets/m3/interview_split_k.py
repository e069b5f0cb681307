"""Flash-decoding: attention over splits of the context, merged by LSE."""

import torch

torch.manual_seed(1)
L, D = 1000, 128
f64 = torch.float64
q = torch.randn(D, dtype=f64)
k, v = torch.randn(L, D, dtype=f64), torch.randn(L, D, dtype=f64)
scale = D ** -0.5
full = torch.softmax(k @ q * scale, dim=0) @ v  # the whole context at once


def split_attention(ks: torch.Tensor,
                    vs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One split's normalised output and log-sum-exp, as a program writes."""
    s = ks @ q * scale
    if s.numel() == 0:  # a split past the end of the context
        return torch.zeros(D, dtype=f64), torch.tensor(float("-inf"), dtype=f64)
    m = s.max()
    p = torch.exp(s - m)  # never overflows: every exponent <= 0
    return (p @ vs) / p.sum(), m + torch.log(p.sum())


bounds = [0, 300, 1000, 1000]  # uneven splits, the last one empty
parts = [split_attention(k[a:b], v[a:b]) for a, b in zip(bounds, bounds[1:])]
outs = torch.stack([o for o, _ in parts])
lse = torch.stack([x for _, x in parts])
# Merge: weight each split by its share of the denominator.
w = torch.exp(lse - lse.max())
merged = (w[:, None] * outs).sum(0) / w.sum()
merged_lse = lse.max() + torch.log(w.sum())  # so merges nest
print("split weights:", [round(x, 4) for x in w.tolist()])
print("merged == full attention:", torch.allclose(merged, full, rtol=1e-12,
                                                  atol=1e-12))
print("merged LSE == full LSE:", torch.allclose(
    merged_lse, torch.logsumexp(k @ q * scale, 0), rtol=1e-12, atol=1e-12))
