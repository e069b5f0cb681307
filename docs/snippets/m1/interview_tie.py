"""Greedy ties go to the lower token id."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import Sampler

# Exact ties: argmax returns the first maximal index, so the lower id wins.
tie = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
md = metadata([SamplingParams(temperature=0)], vocab=4)
tie_token = Sampler()(tie, md).sampled_token_ids.tolist()
print("logits", tie[0].tolist(), "-> greedy picks", tie_token)
