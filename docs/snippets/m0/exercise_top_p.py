"""Exercise: which of the five tokens survive top_p=0.75? And top_p=0.6?"""

import torch

from folovllm import SamplingParams
from folovllm.model_executor.layers.sampler import (
    SamplingMetadata,
    apply_truncation,
)

logits = torch.tensor([[0.40, 0.30, 0.15, 0.10, 0.05]]).log()
for top_p in (0.75, 0.6):
    md = SamplingMetadata.build([SamplingParams(top_p=top_p)], [0], [None],
                                vocab_size=5, device="cpu")
    row = apply_truncation(logits.clone(), md)[0]
    kept = torch.isfinite(row).nonzero().flatten().tolist()
    print(f"top_p={top_p}: keeps tokens {kept}")
