"""GQA in attention: query head h reads KV head h // group."""

import torch
import torch.nn.functional as F

torch.manual_seed(0)
T, H, Hk, D = 6, 8, 2, 16  # 4 query heads share each KV head
q, k, v = torch.randn(H, T, D), torch.randn(Hk, T, D), torch.randn(Hk, T, D)
gqa = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
group = H // Hk
expanded = F.scaled_dot_product_attention(
    q, k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0),
    is_causal=True)
tiled = F.scaled_dot_product_attention(  # h % Hk: the wrong grouping
    q, k.repeat(group, 1, 1), v.repeat(group, 1, 1), is_causal=True)
print("enable_gqa == repeat_interleave:", torch.allclose(gqa, expanded))
print("enable_gqa == repeat (h % Hk):  ", torch.allclose(gqa, tiled))
print("KV elements stored:", k.numel(), "| with one KV head per query head:",
      k.repeat_interleave(group, dim=0).numel())

# Decode: a group's query heads become `group` query rows of one KV head.
q1 = torch.randn(H, 1, D)
packed = F.scaled_dot_product_attention(q1.view(Hk, group, D), k, v)
packed = packed.view(H, 1, D)
reference = F.scaled_dot_product_attention(q1, k, v, enable_gqa=True)
print("decode with packed query rows:", torch.allclose(packed, reference,
                                                       atol=1e-6))
