"""Top-k keeps a count, top-p a mass, min-p a ratio to the top token."""

import torch


def top_k_mask(p: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k most likely tokens."""
    keep = torch.zeros_like(p, dtype=torch.bool)
    keep[p.topk(k).indices] = True
    return keep


def top_p_mask(p: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the fewest most likely tokens whose mass reaches top_p."""
    sorted_p, order = p.sort(descending=True)
    mass_before = sorted_p.cumsum(0) - sorted_p  # mass ranked above
    keep = torch.zeros_like(p, dtype=torch.bool)
    keep[order] = mass_before < top_p  # the top token always survives
    return keep


def min_p_mask(p: torch.Tensor, min_p: float) -> torch.Tensor:
    """Keep tokens at least min_p times as likely as the top token."""
    return p >= min_p * p.max()


def renorm(p: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    q = torch.where(keep, p, torch.zeros_like(p))
    return q / q.sum()


# A confident step, an open-ended one, and a long flat tail of junk.
f64 = torch.float64
peaked = torch.tensor([0.90, 0.04, 0.03, 0.02, 0.01], dtype=f64)
open_ended = torch.full((10,), 0.1, dtype=f64)
long_tail = torch.cat([torch.tensor([0.5]), torch.full((999,), 0.5 / 999)])
long_tail = long_tail.double()

kept = {name: [int(top_k_mask(p, 3).sum()), int(top_p_mask(p, 0.85).sum()),
               int(min_p_mask(p, 0.1).sum())]
        for name, p in [("peaked", peaked), ("open_ended", open_ended),
                        ("long_tail", long_tail)]}
print("tokens kept by   top_k=3  top_p=0.85  min_p=0.1")
for name, (k, p, m) in kept.items():
    print(f"{name:<15} {k:>7} {p:>11} {m:>10}")
