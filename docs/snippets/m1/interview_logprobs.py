"""Logprobs report the model's raw distribution, ranks and top tokens."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import Sampler

logits = torch.tensor([[2.0, 1.8, 0.0, -1.0, -3.0]])
rows = 400
params = SamplingParams(temperature=0.5, top_k=2, logprobs=3)
sampler = Sampler(torch.Generator().manual_seed(3))
out = sampler(logits.expand(rows, 5), metadata([params] * rows, vocab=5))
raw = logits.log_softmax(-1)[0]
print("raw logprobs:     ", [round(x, 3) for x in raw.tolist()])
# Reported: the model's raw distribution, no temperature, no truncation.
print("top-3 token ids:  ", out.topk_token_ids[0].tolist())
top3 = out.topk_logprobs[0]
print("top-3 logprobs:   ", [round(x, 3) for x in top3.tolist()])
print("sampled tokens:   ", sorted(set(out.sampled_token_ids.tolist())),
      "| ranks:", sorted(set(out.sampled_ranks.tolist())))

# Ranks cost a pass over the vocabulary: only when a row asks for logprobs.
quiet = Sampler()(logits, metadata([SamplingParams(temperature=0)], vocab=5))
print("without logprobs: rank", quiet.sampled_ranks.tolist(),
      "| top-k shape", tuple(quiet.topk_token_ids.shape))

# What the token was drawn from: T = 0.5 and top-k 2 leave two tokens.
cut = torch.tensor([[False, False, True, True, True]])
processed = (logits / 0.5).masked_fill(cut, float("-inf")).log_softmax(-1)[0]
print("processed probs:  ", [round(x, 3) for x in processed.exp().tolist()])
