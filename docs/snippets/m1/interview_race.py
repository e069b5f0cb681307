"""The exponential race: argmax(p / q) with q ~ Exp(1) samples from p."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import Sampler

probs = torch.tensor([0.5, 0.3, 0.15, 0.05, 0.0])
g = torch.Generator().manual_seed(0)
q = torch.empty(1000, 5).exponential_(generator=g)  # one row per draw
race = (probs / q).argmax(dim=-1)
# The same draw in Gumbel-max form: -log(q) is Gumbel noise.
gumbel = (probs.log() - q.log()).argmax(dim=-1)
print("race == Gumbel-max on 1000 draws:", torch.equal(race, gumbel))
print("draws of the p = 0 token:", int((race == 4).sum()))

# The Sampler draws this way for every random row at once.
n = 20_000
md = metadata([SamplingParams(temperature=1.0)] * n, vocab=5)
sampler = Sampler(torch.Generator().manual_seed(1))
sampled = sampler(probs.log().expand(n, 5), md).sampled_token_ids
freq = torch.bincount(sampled, minlength=5) / n
print("p:          ", [round(p, 3) for p in probs.tolist()])
print("frequencies:", [round(f, 3) for f in freq.tolist()])
