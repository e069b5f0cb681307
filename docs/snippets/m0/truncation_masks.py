"""Top-k, top-p and min-p as masks over one probability vector, and the
renormalisation that follows a cut: the pieces the sampling answers use."""

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
