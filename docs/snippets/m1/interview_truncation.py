"""Top-k, top-p and min-p for a whole batch, in one sort per row."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import apply_truncation


def three_passes(logits: torch.Tensor, p: SamplingParams) -> set[int]:
    """Reference: top-k, renormalise, top-p, renormalise, min-p."""
    probs = logits.softmax(-1)
    keep = torch.ones_like(probs, dtype=torch.bool)
    if p.top_k:
        keep &= probs >= probs.topk(p.top_k).values[-1]
    probs = torch.where(keep, probs, 0.0) / torch.where(keep, probs, 0.0).sum()
    order = probs.argsort(descending=True)
    mass_before = probs[order].cumsum(0) - probs[order]
    keep[order[mass_before >= p.top_p]] = False
    keep[order[0]] = True
    probs = torch.where(keep, probs, 0.0) / torch.where(keep, probs, 0.0).sum()
    keep &= probs >= p.min_p * probs.max()
    return set(keep.nonzero().flatten().tolist())


torch.manual_seed(0)
rows = [SamplingParams(top_k=8), SamplingParams(top_p=0.7),
        SamplingParams(min_p=0.2),
        SamplingParams(top_k=10, top_p=0.8, min_p=0.05),
        SamplingParams(top_k=3, top_p=0.3)]
logits = torch.randn(len(rows), 32) * 2
# One call, five different parameter sets in the same batch.
kept = apply_truncation(logits, metadata(rows, vocab=32))
survivors = [set(torch.isfinite(row).nonzero().flatten().tolist())
             for row in kept]
for row, (p, got) in enumerate(zip(rows, survivors)):
    print(f"top_k={p.top_k:<2} top_p={p.top_p:<4} min_p={p.min_p:<4}",
          "keeps", len(got), "| as three passes:",
          got == three_passes(logits[row], p))

# top_p = 1 keeps every token even when its neighbours truncate: the float32
# prefix sum drifts past 1.0 over a real vocabulary.
torch.manual_seed(0)
wide = torch.randn(2, 49152) * 3
probs = wide.sort(dim=-1, descending=True).values.softmax(-1)
drift = int(((probs.cumsum(-1) - probs)[0] >= 1.0).sum())
print("tail tokens whose mass_before reaches 1.0:", drift)
md = metadata([SamplingParams(), SamplingParams(top_p=0.5)], vocab=49152)
mixed = apply_truncation(wide, md)
print("top_p=1 row keeps", int(torch.isfinite(mixed[0]).sum()),
      "| top_p=0.5 row keeps", int(torch.isfinite(mixed[1]).sum()))
