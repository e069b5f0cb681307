"""The reference backend: SDPA per sequence in prefill, per slot in decode."""

import torch
import torch.nn.functional as F

from docs.snippets.m2.slot_metadata import D, H, Hk, example_prefill, metadata
from folovllm.attention.backends.torch_ref import (decode_attention,
                                                   prefill_attention, write_kv)

md, q, k, v, k_cache, v_cache = example_prefill()  # slots 2, 0 and 1
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
