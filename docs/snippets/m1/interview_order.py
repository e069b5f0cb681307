"""Penalties run before temperature, so they reach greedy and cold rows."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import Sampler, make_generator

# Token 0 is ahead but was already generated three times.
logits = torch.tensor([[2.0, 1.5, -1.0, -1.0]])
seen = [[0, 0, 0]]
greedy = SamplingParams(temperature=0, frequency_penalty=0.5)
out = Sampler()(logits, metadata([greedy], outputs=seen, vocab=4))
greedy_token = out.sampled_token_ids.tolist()
print("greedy with frequency_penalty=0.5 picks", greedy_token)  # 0.5 < 1.5

# Penalty after T = 0.01 would be irrelevant: the gap is blown up x 100.
z, penalty, t = logits[0, :2], torch.tensor([1.5, 0.0]), 0.01
first, last = int(((z - penalty) / t).argmax()), int((z / t - penalty).argmax())
print("penalty then temperature picks", first, "| temperature then", last)

# With the real order, 200 rows at T = 0.01 all agree with greedy.
cold = SamplingParams(temperature=0.01, frequency_penalty=0.5, seed=0)
rows = 200
gens = [make_generator(0, i, "cpu") for i in range(rows)]
md = metadata([cold] * rows, outputs=seen * rows, vocab=4, generators=gens)
cold_tokens = Sampler()(logits.expand(rows, 4), md).sampled_token_ids
print("T=0.01 rows picking token 1:", int((cold_tokens == 1).sum()), "of", rows)
