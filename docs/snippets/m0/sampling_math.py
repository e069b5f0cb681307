"""The sampling maths of the M0 learning notes, on a 5-token vocabulary, step by step.

A plain reference of each step, in the order the sampler applies them. Float64 keeps the numbers
exact enough to assert; the real sampler (M1) works on a batch of rows in float32.
"""

import torch

NEG_INF = float("-inf")


def apply_repetition_penalty(logits, seen_ids, r):
    """Tokens seen in the prompt or the output: positive logits / r, negative logits * r."""
    out = logits.clone()
    seen = torch.zeros_like(logits, dtype=torch.bool)
    seen[list(seen_ids)] = True
    out[seen] = torch.where(out[seen] > 0, out[seen] / r, out[seen] * r)
    return out


def apply_frequency_presence(logits, output_ids, freq, presence):
    """Output tokens only: logit -= freq * count + presence * [count > 0]."""
    counts = torch.bincount(torch.tensor(output_ids), minlength=logits.numel()).to(logits.dtype)
    return logits - freq * counts - presence * (counts > 0).to(logits.dtype)


def top_k_mask(logits, k):
    """Keep the k largest logits (k = 0 keeps all)."""
    if k == 0:
        return logits
    kth = torch.topk(logits, k).values[-1]
    return logits.masked_fill(logits < kth, NEG_INF)


def top_p_mask(logits, p):
    """Keep the smallest set of top tokens whose probability reaches p.

    A token is kept when the mass of the tokens *before* it is still below p, so the token that
    crosses the threshold stays in the set.
    """
    probs = logits.softmax(-1)
    sorted_probs, order = probs.sort(descending=True)
    mass_before = sorted_probs.cumsum(-1) - sorted_probs
    drop_sorted = mass_before >= p
    drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
    return logits.masked_fill(drop, NEG_INF)


def min_p_mask(logits, min_p):
    """Drop tokens whose probability is below min_p times the top token's probability."""
    probs = logits.softmax(-1)
    return logits.masked_fill(probs < min_p * probs.max(), NEG_INF)


def probs_of(logits):
    return [round(x, 4) for x in logits.softmax(-1).tolist()]


# A 5-token distribution, written as the logits a model would produce for it.
p = torch.tensor([0.40, 0.30, 0.15, 0.10, 0.05], dtype=torch.float64)
logits = p.log()
assert probs_of(logits) == [0.4, 0.3, 0.15, 0.1, 0.05]

# 1. Repetition penalty r = 2: token 0 is in the prompt, tokens 2 and 3 in the output.
raw = torch.tensor([2.0, 1.0, -1.0, 0.5, 0.0], dtype=torch.float64)
prompt_ids, output_ids = [0], [2, 3, 3]
rep = apply_repetition_penalty(raw, set(prompt_ids) | set(output_ids), 2.0)
assert rep.tolist() == [1.0, 1.0, -2.0, 0.25, 0.0]  # 2/2, untouched, -1*2, 0.5/2, untouched

# 2. Frequency 0.5 and presence 0.25, counted over the output only (token 3 appears twice).
pen = apply_frequency_presence(rep, output_ids, 0.5, 0.25)
assert pen.tolist() == [1.0, 1.0, -2.75, -1.0, 0.0]  # token 0 was only in the prompt

# 3. Temperature: T < 1 sharpens, T > 1 flattens; the order of tokens never changes.
assert probs_of(logits / 0.5) == [0.5614, 0.3158, 0.0789, 0.0351, 0.0088]  # ~ p**2
assert probs_of(logits / 2.0) == [0.3001, 0.2599, 0.1838, 0.1501, 0.1061]  # ~ sqrt(p)
assert int(logits.argmax()) == 0  # T -> 0 is argmax: greedy

# 4. Top-k = 2 keeps two tokens and renormalises: 0.4/0.7 and 0.3/0.7.
assert probs_of(top_k_mask(logits, 2)) == [0.5714, 0.4286, 0.0, 0.0, 0.0]

# 5. Top-p = 0.9: the running mass is 0.40, 0.70, 0.85, 0.95. The fourth token takes it past
#    0.9, so it is kept; only the last token goes.
assert probs_of(top_p_mask(logits, 0.9)) == [0.4211, 0.3158, 0.1579, 0.1053, 0.0]
#    Top-p = 0.5: the second token crosses 0.5, so two tokens stay.
assert probs_of(top_p_mask(logits, 0.5)) == [0.5714, 0.4286, 0.0, 0.0, 0.0]

# 6. Min-p = 0.3: the threshold is 0.3 * 0.4 = 0.12, so 0.10 and 0.05 go.
assert probs_of(min_p_mask(logits, 0.3)) == [0.4706, 0.3529, 0.1765, 0.0, 0.0]
#    Min-p compares ratios to the top token, so renormalising first changes nothing: applied
#    after top-k = 4 it drops exactly the same tokens.
after_k = top_k_mask(logits, 4)
assert torch.equal(min_p_mask(after_k, 0.3) == NEG_INF, min_p_mask(logits, 0.3) == NEG_INF)

# The whole chain: top-k 4 -> top-p 0.8 -> min-p 0.5. Top-p sees the top-k survivors
# renormalised (0.421, 0.737, 0.895, ...) and keeps three; min-p (threshold 0.5 * top) keeps two.
chain = min_p_mask(top_p_mask(top_k_mask(logits, 4), 0.8), 0.5)
assert probs_of(chain) == [0.5714, 0.4286, 0.0, 0.0, 0.0]

# 7. Sample. A per-request seed gives a per-request generator: the same seed draws the same
#    tokens, whatever else is in the batch (SamplingType.RANDOM_SEED).
def draw(seed, n=8):
    g = torch.Generator().manual_seed(seed)
    return torch.multinomial(chain.softmax(-1), n, replacement=True, generator=g).tolist()

assert draw(1234) == draw(1234)
assert set(draw(1234, 100)) <= {0, 1}  # masked tokens have probability 0: never drawn
print("sampling maths: all steps check out")
