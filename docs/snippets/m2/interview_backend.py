"""The reference backend: SDPA per sequence in prefill, per slot in decode."""

import torch
import torch.nn.functional as F

from docs.snippets.m2.slot_metadata import MAX_LEN, metadata
from folovllm.attention.backends.torch_ref import (decode_attention,
                                                   prefill_attention, write_kv)

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
out = prefill_attention(q, k, v, k_cache, v_cache, md, scale=D ** -0.5)

# Prefill: one causal SDPA per sequence; the cache is only written.
starts = md.query_start_loc_host
prefill_alone = [F.scaled_dot_product_attention(
    q[s:e].transpose(0, 1), k[s:e].transpose(0, 1), v[s:e].transpose(0, 1),
    is_causal=True, enable_gqa=True).transpose(0, 1)
    for s, e in zip(starts[:-1], starts[1:])]
print("prefill == SDPA per sequence:", all(
    torch.allclose(out[s:e], a, atol=1e-6)
    for s, e, a in zip(starts[:-1], starts[1:], prefill_alone)))

# Decode: one new token per sequence; slot 2 now holds 4, slot 0 holds 2.
dec = metadata(slot_ids=[2, 0], seq_lens=[4, 2], token_slot_ids=[2, 0],
               positions=[3, 1], starts=[0, 1, 2])
q1, k1, v1 = torch.randn(2, H, D), torch.randn(2, Hk, D), torch.randn(2, Hk, D)
write_kv(k_cache, v_cache, k1, v1, dec)  # the new token's K/V first
k_cache[0, 2:] = v_cache[0, 2:] = 1e4  # stale data past slot 0's length
dec_out = decode_attention(q1, k_cache, v_cache, dec, scale=D ** -0.5)
decode_alone = [F.scaled_dot_product_attention(
    q1[i][:, None], k_cache[slot, :n].transpose(0, 1),
    v_cache[slot, :n].transpose(0, 1), enable_gqa=True)[:, 0]
    for i, (slot, n) in enumerate([(2, 4), (0, 2)])]
print("decode == SDPA over each slot's own length:", all(
    torch.allclose(dec_out[i], a, atol=1e-6)
    for i, a in enumerate(decode_alone)))
# The seq_lens mask hid the stale 1e4 values: a reused slot needs no clearing.
