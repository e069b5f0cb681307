"""Exercise: which repetition penalty moves greedy off token 0?"""

import torch

from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (Sampler,
                                                    SamplingMetadata,
                                                    token_counts)

logits = torch.tensor([[0.40, 0.30, 0.15, 0.10, 0.05]]).log()
prompt_mask = token_counts([[0]], 5, "cpu") > 0  # the prompt is [0]
no_output = token_counts([[]], 5, "cpu")
for penalty in (1.25, 1.5, 2.0):
    params = SamplingParams(temperature=0, repetition_penalty=penalty)
    md = SamplingMetadata.build([params], [0], [None], vocab_size=5,
                                device="cpu", prompt_mask=prompt_mask,
                                output_counts=no_output)
    token = Sampler(torch.Generator())(logits, md).sampled_token_ids.item()
    print(f"repetition_penalty={penalty}: greedy picks token {token}")
