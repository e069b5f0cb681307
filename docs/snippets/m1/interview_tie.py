"""Greedy ties go to the lower token id."""

import torch

from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (Sampler,
                                                    SamplingMetadata)


def metadata(params, prompts=None, outputs=None, generators=None, vocab=None):
    """The per-row tensors the engine builds each step, here by hand."""
    n = len(params)
    return SamplingMetadata.build(
        params, prompts or [[0]] * n, outputs or [[]] * n,
        generators or [None] * n, vocab_size=vocab, device="cpu")


# Exact ties: argmax returns the first maximal index, so the lower id wins.
tie = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
md = metadata([SamplingParams(temperature=0)], vocab=4)
tie_token = Sampler()(tie, md).sampled_token_ids.tolist()
print("logits", tie[0].tolist(), "-> greedy picks", tie_token)
