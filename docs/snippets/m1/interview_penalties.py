"""Repetition, frequency and presence penalties in the M1 sampler."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import apply_penalties

logits = torch.tensor([[3.0, -2.0, 1.0, 0.5, 0.0]])
prompt, output = [[0, 1]], [[2, 2, 2, 3]]  # token 4 never appeared
print("logits:        ", logits[0].tolist())
penalised = {}
for name, sp in [("repetition=2.0", SamplingParams(repetition_penalty=2.0)),
                 ("frequency=0.5", SamplingParams(frequency_penalty=0.5)),
                 ("presence=0.5", SamplingParams(presence_penalty=0.5))]:
    md = metadata([sp], prompt, output, vocab=5)
    penalised[name] = apply_penalties(logits, md)[0].tolist()
    print(f"{name + ':':<15}", penalised[name])

# The bookkeeping: a [B, V] prompt mask and [B, V] output counts, built
# only when some row of the batch uses a penalty.
md = metadata([SamplingParams(frequency_penalty=0.5)], prompt, output, vocab=5)
print("prompt mask:   ", md.prompt_mask[0].tolist())
print("output counts: ", md.output_counts[0].tolist())
no_penalty = metadata([SamplingParams()], prompt, output, vocab=5)
print("without penalties, output counts:", no_penalty.output_counts)
