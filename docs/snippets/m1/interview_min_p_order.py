"""Top-p and min-p together: FoloVLLM's order against vLLM v1's."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import apply_truncation

probs = torch.tensor([0.4, 0.3, 0.2, 0.1])
both = SamplingParams(top_p=0.75, min_p=0.3)
# FoloVLLM: both read the same distribution; a token goes if either drops it.
folo = apply_truncation(probs.log().unsqueeze(0), metadata([both], vocab=4))
folo_kept = int(torch.isfinite(folo).sum())
# vLLM v1: min-p first, renormalise, then top-p on what is left.
after_min_p = torch.where(probs >= 0.3 * probs.max(), probs, 0.0)
after_min_p = after_min_p / after_min_p.sum()  # [0.444, 0.333, 0.222, 0]
mass_before = after_min_p.cumsum(0) - after_min_p
vllm_kept = int(((mass_before < 0.75) & (after_min_p > 0)).sum())
print("FoloVLLM keeps", folo_kept, "tokens; min-p then top-p keeps", vllm_kept)
