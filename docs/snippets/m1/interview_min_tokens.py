"""min_tokens: EOS and stop ids are suppressed until enough tokens exist."""

import torch

from docs.snippets.m1.batch_metadata import metadata  # shown with Q6
from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import Sampler

EOS, STOP_ID = 3, 4
params = SamplingParams(temperature=0, min_tokens=2, stop_token_ids=[STOP_ID])
params.all_stop_token_ids = {EOS, STOP_ID}  # merged in at add_request
logits = torch.tensor([[0.0, 1.0, 0.5, 9.0, 8.0]])  # the model wants to end

picked = []
for output in ([], [1], [1, 1]):
    md = metadata([params], outputs=[output], vocab=5)
    picked.append(Sampler()(logits, md).sampled_token_ids.tolist())
    print(f"{len(output)} tokens so far: picks {picked[-1]}")
# The suppression: sparse (row, column) pairs set to -inf, not a [B, V] mask.
md = metadata([params], outputs=[[1]], vocab=5)
print("suppressed rows", md.suppress_rows.tolist(),
      "columns", md.suppress_cols.tolist())
