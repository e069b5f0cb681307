"""Attention metadata keeps the sequences of a flat batch apart."""

import torch

from folovllm.attention.backends.torch_ref import prefill_attention, write_kv
from folovllm.attention.metadata import AttentionMetadata

torch.manual_seed(0)
MAX_LEN = 8  # tokens per slot (max_model_len)


def metadata(is_prefill, slot_ids, seq_lens, token_slot_ids, positions,
             starts) -> AttentionMetadata:
    """AttentionMetadata from lists, as the model runner builds it.

    Since M3 the cache is paged; an M2 slot is one block of MAX_LEN tokens:
    a block table is [slot], a token goes to slot * MAX_LEN + position."""
    def t(xs, dtype=torch.int32):
        return torch.tensor(xs, dtype=dtype)

    slots = [s * MAX_LEN + p for s, p in zip(token_slot_ids, positions)]
    return AttentionMetadata(
        is_prefill, positions=t(positions, torch.long),
        slot_mapping=t(slots, torch.long), seq_lens=t(seq_lens),
        block_tables=t([[s] for s in slot_ids]), query_start_loc=t(starts),
        query_start_loc_host=starts, seq_lens_host=seq_lens,
        max_query_len=max(e - s for s, e in zip(starts, starts[1:])),
        max_seq_len=max(seq_lens))


# A prefill of three prompts (3, 1 and 2 tokens) going to slots 2, 0 and 1.
md = metadata(True, slot_ids=[2, 0, 1], seq_lens=[3, 1, 2],
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
one_seq = metadata(True, [0], [6], [0] * 6, list(range(6)), [0, 6])
mixed = prefill_attention(q, k, v, k_cache, v_cache, one_seq, scale=D ** -0.5)
print("as one sequence, first prompt unchanged:",
      torch.allclose(mixed[:3], out[:3], atol=1e-6),
      "| the others:", torch.allclose(mixed[3:], out[3:], atol=1e-6))
