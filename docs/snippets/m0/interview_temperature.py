"""Temperature divides the logits; very small values are clamped."""

import torch

from folovllm import SamplingParams
from folovllm.sampling_params import MIN_TEMPERATURE

logits = torch.tensor([2.0, 1.0, 0.5, -1.0])


def softmax_t(logits: torch.Tensor, t: float) -> torch.Tensor:
    return torch.softmax(logits / t, dim=-1)


p1, sharp, flat = softmax_t(logits, 1.0), softmax_t(logits, 0.5), \
    softmax_t(logits, 2.0)
for t, p in (("T=0.5", sharp), ("T=1  ", p1), ("T=2  ", flat)):
    print(t, [round(x, 3) for x in p.tolist()])  # same ranking, other shape
near_zero = softmax_t(logits, 0.01)
at_zero = softmax_t(logits, 0.0)
print("T=0.01", [round(x, 3) for x in near_zero.tolist()])
print("T=0   ", at_zero.tolist())  # inf - inf = nan

# A logit of 100 / 1e-3 = 1e5 overflows fp16 (max 65504): hence the clamp.
big = torch.tensor([100.0], dtype=torch.float16)
print("fp16 100 / 1e-3:", (big / 1e-3).item(),
      f"| 100 / {MIN_TEMPERATURE}:", (big / MIN_TEMPERATURE).item())
clamped = SamplingParams(temperature=1e-3).temperature
print("SamplingParams(temperature=1e-3).temperature =", clamped)
