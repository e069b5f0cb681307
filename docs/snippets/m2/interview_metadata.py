"""Attention metadata keeps the sequences of a flat batch apart."""

import torch

from docs.snippets.m2.slot_metadata import MAX_LEN, metadata
from folovllm.attention.backends.torch_ref import prefill_attention, write_kv

torch.manual_seed(0)

# A prefill of three prompts (3, 1 and 2 tokens) going to slots 2, 0 and 1.
md = metadata(slot_ids=[2, 0, 1], seq_lens=[3, 1, 2],
              token_slot_ids=[2, 2, 2, 0, 1, 1],  # the slot of every token
              positions=[0, 1, 2, 0, 0, 1],  # the position of every token
              starts=[0, 3, 4, 6])  # query_start_loc: S + 1 offsets
T, H, Hk, D = 6, 4, 2, 16
q, k, v = torch.randn(T, H, D), torch.randn(T, Hk, D), torch.randn(T, Hk, D)
# write_kv: each token to (its slot, its position) of [slots, len, Hk, D].
k_cache = torch.zeros(3, MAX_LEN, Hk, D)
v_cache = torch.zeros(3, MAX_LEN, Hk, D)
write_kv(k_cache, v_cache, k, v, md)
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
