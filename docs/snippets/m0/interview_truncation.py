"""Top-k keeps a count, top-p a mass, min-p a ratio to the top token."""

import torch

from docs.snippets.m0.truncation_masks import min_p_mask, top_k_mask, top_p_mask

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
