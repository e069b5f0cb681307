"""A hand-made batch's SamplingMetadata, as the engine builds it each step."""

import torch

from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (SamplingMetadata,
                                                    token_counts)


def metadata(params: list[SamplingParams],
             prompts: list[list[int]] | None = None,
             outputs: list[list[int]] | None = None,
             generators: list[torch.Generator | None] | None = None,
             *, vocab: int) -> SamplingMetadata:
    """One row per SamplingParams, with each row's token ids so far.

    min_tokens needs only the output lengths; the penalties count the ids
    (the engine keeps these counts on the device and updates them)."""
    n = len(params)
    prompts, outputs = prompts or [[0]] * n, outputs or [[]] * n
    return SamplingMetadata.build(
        params, [len(out) for out in outputs], generators or [None] * n,
        vocab, "cpu", prompt_mask=token_counts(prompts, vocab, "cpu") > 0,
        output_counts=token_counts(outputs, vocab, "cpu"))
