"""Attention metadata keeps the sequences of a flat batch apart."""

import torch

from docs.snippets.m2.slot_metadata import D, example_prefill, metadata
from folovllm.attention.backends.torch_ref import prefill_attention

md, q, k, v, k_cache, v_cache = example_prefill()  # slots 2, 0 and 1
print("slot_mapping:", md.slot_mapping.tolist())
print("tokens written per slot:",
      [int((k_cache[s].abs().sum((-1, -2)) > 0).sum()) for s in range(3)])

# The backend attends within each slice [starts[i], starts[i+1]).
out = prefill_attention(q, k, v, k_cache, v_cache, md, scale=D ** -0.5)
# Wrong metadata: the batch as one sequence mixes the prompts.
one_seq = metadata([0], [6], [0] * 6, list(range(6)), [0, 6])
mixed = prefill_attention(q, k, v, k_cache, v_cache, one_seq, scale=D ** -0.5)
print("as one sequence, first prompt unchanged:",
      torch.allclose(mixed[:3], out[:3], atol=1e-6),
      "| the others:", torch.allclose(mixed[3:], out[3:], atol=1e-6))
