"""The order of the steps changes which tokens survive."""

import torch

from docs.snippets.m0.truncation_masks import (min_p_mask, renorm, top_k_mask,
                                               top_p_mask)

f64 = torch.float64
# 1. Temperature first: top-p sees probabilities, which temperature changes.
base = torch.log(torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05], dtype=f64))
p_t1, p_t05 = torch.softmax(base / 1.0, -1), torch.softmax(base / 0.5, -1)
print("top_p=0.8 keeps", int(top_p_mask(p_t1, 0.8).sum()), "at T=1,",
      int(top_p_mask(p_t05, 0.8).sum()), "at T=0.5")

# 2. top-p after top-k measures mass among the survivors: it stops sooner.
p = torch.tensor([0.3, 0.25, 0.2, 0.15, 0.1], dtype=f64)
after_top_k = renorm(p, top_k_mask(p, 3))  # [0.4, 0.333, 0.267, 0, 0]
k_then_p = int(top_p_mask(after_top_k, 0.7).sum())
p_then_k = int((top_p_mask(p, 0.7) & top_k_mask(p, 3)).sum())
print("top_k=3, top_p=0.7 keeps", k_then_p, "(k first) or", p_then_k,
      "(p first)")

# 3. min-p compares with the top token: it commutes with top-k, not top-p.
p = torch.tensor([0.4, 0.3, 0.2, 0.06, 0.04], dtype=f64)
mp, k4, tp = min_p_mask(p, 0.2), top_k_mask(p, 4), top_p_mask(p, 0.75)
k_then_min = min_p_mask(renorm(p, k4), 0.2) & k4
min_then_k = top_k_mask(renorm(p, mp), 4) & mp
min_then_p = top_p_mask(renorm(p, mp), 0.75) & mp
p_then_min = min_p_mask(renorm(p, tp), 0.2) & tp
print("min_p=0.2, top_k=4 keeps", k_then_min.tolist(), "either way")
print("min_p=0.2, top_p=0.75 keeps", int(min_then_p.sum()), "(min first) or",
      int(p_then_min.sum()), "(p first)")
