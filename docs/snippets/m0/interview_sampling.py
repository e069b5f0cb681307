"""M0 interview answers on sampling maths: temperature, top-k / top-p / min-p, order, penalties.

The sampler itself arrives in M1; these small reference functions show the maths it implements
on hand-made distributions. Run: ``python docs/snippets/m0/interview_sampling.py``.
"""

import torch

from folovllm import SamplingParams
from folovllm.sampling_params import MIN_TEMPERATURE

# --8<-- [start:temperature]
logits = torch.tensor([2.0, 1.0, 0.5, -1.0])


def softmax_t(logits: torch.Tensor, t: float) -> torch.Tensor:
    return torch.softmax(logits / t, dim=-1)


p1, sharp, flat = softmax_t(logits, 1.0), softmax_t(logits, 0.5), softmax_t(logits, 2.0)
assert sharp[0] > p1[0] > flat[0]                     # low T sharpens, high T flattens
assert sharp.argsort().tolist() == flat.argsort().tolist()  # the ranking never changes
assert softmax_t(logits, 0.01)[0] > 0.999999          # T -> 0: one-hot on the argmax
assert torch.isnan(softmax_t(logits, 0.0)).any()      # T = 0 itself: inf - inf = nan

# Very small temperatures overflow half precision: a logit of 100 divided by 1e-3 is 1e5,
# above fp16's maximum of 65504. Hence the clamp to MIN_TEMPERATURE (0.01).
big = torch.tensor([100.0], dtype=torch.float16)
assert torch.isinf(big / 1e-3).all() and torch.isfinite(big / MIN_TEMPERATURE).all()
assert SamplingParams(temperature=1e-3).temperature == MIN_TEMPERATURE
# --8<-- [end:temperature]


# --8<-- [start:truncation]
def top_k_mask(p: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k most likely tokens."""
    keep = torch.zeros_like(p, dtype=torch.bool)
    keep[p.topk(k).indices] = True
    return keep


def top_p_mask(p: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose probabilities add up to >= top_p."""
    sorted_p, order = p.sort(descending=True)
    mass_before = sorted_p.cumsum(0) - sorted_p   # probability of the tokens ranked above
    keep = torch.zeros_like(p, dtype=torch.bool)
    keep[order] = mass_before < top_p              # the top token always survives
    return keep


def min_p_mask(p: torch.Tensor, min_p: float) -> torch.Tensor:
    """Keep tokens at least min_p times as likely as the most likely token."""
    return p >= min_p * p.max()


def renorm(p: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    q = torch.where(keep, p, torch.zeros_like(p))
    return q / q.sum()


# A confident step and an open-ended step, with float64 to keep the sums exact enough.
peaked = torch.tensor([0.90, 0.04, 0.03, 0.02, 0.01], dtype=torch.float64)
open_ended = torch.full((10,), 0.1, dtype=torch.float64)

# top-k keeps a fixed number: junk when the model is sure, too few when it is not.
assert top_k_mask(peaked, 3).sum() == 3          # keeps 0.04 and 0.03 it did not need
assert top_k_mask(open_ended, 3).sum() == 3      # cuts 70% of equally good choices

# top-p adapts the count to the shape ...
assert top_p_mask(peaked, 0.85).sum() == 1
assert top_p_mask(open_ended, 0.85).sum() == 9
# ... but a long flat tail of junk must be admitted to reach the mass.
long_tail = torch.cat([torch.tensor([0.5]), torch.full((999,), 0.5 / 999)]).double()
assert top_p_mask(long_tail, 0.85).sum() == 701

# min-p scales its cut with the top token: it drops that tail in one step ...
assert min_p_mask(long_tail, 0.1).sum() == 1
# ... but when nothing is confident it keeps everything.
assert min_p_mask(open_ended, 0.1).sum() == 10
# --8<-- [end:truncation]

# --8<-- [start:order]
# 1. Temperature first: top-p and min-p look at probabilities, which temperature changes.
base = torch.log(torch.tensor([0.5, 0.2, 0.15, 0.1, 0.05], dtype=torch.float64))
assert top_p_mask(torch.softmax(base / 1.0, -1), 0.8).sum() == 3
assert top_p_mask(torch.softmax(base / 0.5, -1), 0.8).sum() == 2
# top-k only looks at ranks, which temperature keeps.
assert torch.equal(top_k_mask(torch.softmax(base / 1.0, -1), 2),
                   top_k_mask(torch.softmax(base / 0.5, -1), 2))

# 2. top-p after top-k measures mass among the survivors (renormalised), so it stops sooner.
p = torch.tensor([0.3, 0.25, 0.2, 0.15, 0.1], dtype=torch.float64)
after_top_k = renorm(p, top_k_mask(p, 3))                 # [0.4, 0.333, 0.267, 0, 0]
assert top_p_mask(after_top_k, 0.7).sum() == 2
assert (top_p_mask(p, 0.7) & top_k_mask(p, 3)).sum() == 3  # top-p first, then top-k

# 3. min-p compares with the top token, a ratio renormalising does not change: it commutes
#    with top-k. It does not commute with top-p.
p = torch.tensor([0.4, 0.3, 0.2, 0.06, 0.04], dtype=torch.float64)
k_then_min = min_p_mask(renorm(p, top_k_mask(p, 4)), 0.2) & top_k_mask(p, 4)
min_then_k = top_k_mask(renorm(p, min_p_mask(p, 0.2)), 4) & min_p_mask(p, 0.2)
assert torch.equal(k_then_min, min_then_k)
min_then_p = top_p_mask(renorm(p, min_p_mask(p, 0.2)), 0.75) & min_p_mask(p, 0.2)
p_then_min = min_p_mask(renorm(p, top_p_mask(p, 0.75)), 0.2) & top_p_mask(p, 0.75)
assert (min_then_p.sum(), p_then_min.sum()) == (2, 3)
# --8<-- [end:order]


# --8<-- [start:penalties]
def apply_penalties(logits: torch.Tensor, prompt: list[int], output: list[int], *,
                    repetition: float = 1.0, frequency: float = 0.0,
                    presence: float = 0.0) -> torch.Tensor:
    counts = torch.bincount(torch.tensor(output), minlength=logits.numel()).to(logits.dtype)
    seen = counts > 0
    seen[prompt] = True                      # repetition looks at the prompt too
    scaled = torch.where(logits > 0, logits / repetition, logits * repetition)
    logits = torch.where(seen, scaled, logits)
    logits = logits - frequency * counts     # grows with every repeat
    return logits - presence * (counts > 0)  # flat, once per distinct token


logits = torch.tensor([2.0, -1.0, 1.0, 0.5])
prompt, output = [0], [1, 2, 2]              # token 0 only in the prompt; token 2 twice

# Repetition: divide positive logits, multiply negative ones, for prompt and output tokens.
assert apply_penalties(logits, prompt, output, repetition=2.0).tolist() == [1.0, -2.0, 0.5, 0.5]
# Frequency: subtract once per occurrence in the output (the prompt is not counted).
assert apply_penalties(logits, prompt, output, frequency=0.5).tolist() == [2.0, -1.5, 0.0, 0.5]
# Presence: subtract once for any token already generated.
assert apply_penalties(logits, prompt, output, presence=0.5).tolist() == [2.0, -1.5, 0.5, 0.5]

# Why the sign rule: dividing a negative logit by 2 would *raise* it and reward the repeat.
assert -1.0 / 2.0 > -1.0
# Negative values are allowed (down to -2) and encourage repetition instead.
assert SamplingParams(presence_penalty=-2.0, frequency_penalty=-2.0).presence_penalty == -2.0
# --8<-- [end:penalties]

print("interview_sampling: all claims hold")
