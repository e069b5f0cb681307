"""Each step of the sampling pipeline, on a 5-token vocabulary, in order."""

import torch

NEG_INF = float("-inf")


def repetition(logits, seen_ids, r):
    """Seen tokens (prompt or output): positive / r, negative * r."""
    out, seen = logits.clone(), list(seen_ids)
    out[seen] = torch.where(out[seen] > 0, out[seen] / r, out[seen] * r)
    return out


def frequency_presence(logits, output_ids, freq, presence):
    """Output tokens only: logit -= freq * count + presence * [count > 0]."""
    counts = torch.bincount(torch.tensor(output_ids), minlength=len(logits))
    return logits - freq * counts - presence * (counts > 0)


def top_k(logits, k):
    kth = torch.topk(logits, k).values[-1]
    return logits.masked_fill(logits < kth, NEG_INF)


def top_p(logits, p):
    """Keep a token while the mass *before* it is still below p."""
    probs, order = logits.softmax(-1).sort(descending=True)
    drop = (probs.cumsum(-1) - probs) >= p
    drop = torch.zeros_like(drop).scatter(0, order, drop)
    return logits.masked_fill(drop, NEG_INF)


def min_p(logits, m):
    """Drop tokens below m times the top token's probability."""
    probs = logits.softmax(-1)
    return logits.masked_fill(probs < m * probs.max(), NEG_INF)


def show(name, logits):
    probs = [round(x, 4) for x in logits.softmax(-1).tolist()]
    print(f"{name:<23}{probs}")


p = torch.tensor([0.40, 0.30, 0.15, 0.10, 0.05], dtype=torch.float64)
logits = p.log()  # what a model would output for this distribution
raw = torch.tensor([2.0, 1.0, -1.0, 0.5, 0.0], dtype=torch.float64)
rep = repetition(raw, {0, 2, 3}, 2.0)  # prompt [0], output [2, 3, 3]
print(f"{'repetition r=2':<23}{rep.tolist()}")
pen = frequency_presence(rep, [2, 3, 3], 0.5, 0.25)
print(f"{'freq 0.5, presence .25':<23}{pen.tolist()}")
show("p", logits)
show("T=0.5", logits / 0.5)
show("T=2.0", logits / 2.0)
show("top-k 2", top_k(logits, 2))
show("top-p 0.9", top_p(logits, 0.9))
show("top-p 0.5", top_p(logits, 0.5))
show("min-p 0.3", min_p(logits, 0.3))
chain = min_p(top_p(top_k(logits, 4), 0.8), 0.5)
show("k 4, p 0.8, min-p 0.5", chain)
g = torch.Generator().manual_seed(7)  # a per-request seed
draws = torch.multinomial(chain.softmax(-1), 8, True, generator=g)
print(f"{'8 draws, seed 7':<23}{draws.tolist()}")
