"""M2 interview answers on the model's layers and the reference attention backend: fused
Q/K/V and gate/up, RMSNorm with the residual add, RoPE (tables, neox layout, llama3 scaling),
GQA, and how attention keeps the sequences of a flat batch apart.

Everything runs on small random tensors on the CPU, in a few seconds.
Run from the repository root: ``python docs/snippets/m2/interview_layers.py``.
"""

import math

import torch
import torch.nn.functional as F

from folovllm.attention.backends.torch_ref import decode_attention, prefill_attention, write_kv
from folovllm.attention.metadata import AttentionMetadata
from folovllm.model_executor.layers.activation import SiluAndMul
from folovllm.model_executor.layers.layernorm import RMSNorm
from folovllm.model_executor.layers.linear import (ONEDNN_LINEAR, MergedLinear, QKVLinear,
                                                   linear, use_onednn)
from folovllm.model_executor.layers.rotary_embedding import (
    RotaryEmbedding,
    default_inv_freq,
    llama3_inv_freq,
)

torch.manual_seed(0)

# --8<-- [start:fused_linear]
hidden, head_dim, n_heads, n_kv = 64, 16, 4, 2
# The checkpoint has three matrices; our layer has one, and a loader that knows the offsets.
wq, wk, wv = (torch.randn(n * head_dim, hidden) for n in (n_heads, n_kv, n_kv))
qkv = QKVLinear(hidden, head_dim, n_heads, n_kv)
for shard, w in (("q", wq), ("k", wk), ("v", wv)):
    qkv.weight_loader(qkv.weight, w, shard)
assert qkv.offsets == {"q": (0, 64), "k": (64, 32), "v": (96, 32)}  # rows of the stacked W

x = torch.randn(10, hidden)                      # 10 tokens of a flat batch
q, k, v = qkv(x).split([qkv.q_size, qkv.kv_size, qkv.kv_size], dim=-1)
torch.testing.assert_close(q, x @ wq.T)          # one matmul, three results
torch.testing.assert_close(k, x @ wk.T)
torch.testing.assert_close(v, x @ wv.T)

# A tensor of the wrong shape is refused, not copied into the wrong rows.
try:
    qkv.weight_loader(qkv.weight, torch.zeros(3, hidden), "k")
    raise AssertionError("expected a ValueError")
except ValueError as e:
    assert "has 3 rows, expected 32" in str(e)

# The MLP does the same with gate and up, then silu(gate) * up on the two halves.
inter = 128
w_gate, w_up = torch.randn(inter, hidden), torch.randn(inter, hidden)
gate_up = MergedLinear(hidden, inter)
gate_up.weight_loader(gate_up.weight, w_gate, "gate")
gate_up.weight_loader(gate_up.weight, w_up, "up")
torch.testing.assert_close(SiluAndMul()(gate_up(x)), F.silu(x @ w_gate.T) * (x @ w_up.T))
# --8<-- [end:fused_linear]

# --8<-- [start:rmsnorm]
from transformers.models.llama.modeling_llama import LlamaRMSNorm  # noqa: E402

norm, ref = RMSNorm(hidden, eps=1e-6), LlamaRMSNorm(hidden, eps=1e-6)
norm.weight.data = ref.weight.data = torch.linspace(0.5, 2.0, hidden)
x, residual = torch.randn(5, hidden), torch.randn(5, hidden)

# Fused: one call adds the residual, normalises, and hands back the new residual stream.
out, new_residual = norm(x, residual)
assert torch.equal(new_residual, x + residual)
assert torch.equal(out, norm(x + residual))

# The arithmetic is transformers' own (float32 inside, cast back, then the weight), so the
# result is bit for bit the same, in float32 and in bfloat16.
assert torch.equal(norm(x), ref(x))
norm_bf16, ref_bf16 = norm.to(torch.bfloat16), ref.to(torch.bfloat16)
xb = (x * 30).to(torch.bfloat16)
assert torch.equal(norm_bf16(xb), ref_bf16(xb))
# --8<-- [end:rmsnorm]

# --8<-- [start:rope]
D, max_pos = 16, 512
rope = RotaryEmbedding(D, max_pos, {"rope_type": "default", "rope_theta": 10000.0})
assert rope.cos.shape == (max_pos, D) and rope.cos.dtype == torch.float32  # computed once

# A flat batch: two sequences of 3 and 2 tokens. Positions restart at 0 for each sequence,
# and one gather from the tables serves the whole step.
positions = torch.tensor([0, 1, 2, 0, 1])
q, k = torch.randn(5, 4, D), torch.randn(5, 2, D)   # [T, heads, D]
q_rot, k_rot = rope(positions, q, k)
torch.testing.assert_close(q_rot[3], rope(torch.tensor([0]), q[3:4], k[3:4])[0][0])
assert torch.equal(q_rot[0], q[0])                  # position 0 is the identity

# Each (x_i, x_{i+D/2}) pair is rotated: norms are kept...
torch.testing.assert_close(q_rot.norm(dim=-1), q.norm(dim=-1))


# ...and a query-key score depends only on the distance between the two positions.
def score(q_pos: int, k_pos: int) -> torch.Tensor:
    qq = rope(torch.tensor([q_pos]), q[:1], k[:1])[0][0, 0]
    kk = rope(torch.tensor([k_pos]), q[:1], k[:1])[1][0, 0]
    return qq @ kk


torch.testing.assert_close(score(7, 3), score(107, 103), atol=1e-4, rtol=1e-4)
assert not torch.allclose(score(7, 3), score(7, 5), atol=1e-3)


# The neox layout pairs dimension i with i + D/2; GPT-J pairs 2i with 2i + 1. Same angles,
# different pairs, different outputs for the same weights.
def rope_gptj(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    angles = pos[:, None].float() * default_inv_freq(D, 10000.0)[None, :]   # [T, D/2]
    cos, sin = angles.cos()[:, None, :], angles.sin()[:, None, :]
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


assert not torch.allclose(rope_gptj(q, positions), q_rot, atol=1e-3)
# They are the same rotation up to a fixed permutation of the head dimensions. This is why the
# conversion of Meta's Llama checkpoints to HF format permutes the rows of q_proj and k_proj.
perm = torch.cat((torch.arange(0, D, 2), torch.arange(1, D, 2)))
neox_of_permuted = rope(positions, q[..., perm], k[..., perm])[0]
torch.testing.assert_close(neox_of_permuted, rope_gptj(q, positions)[..., perm])

# Llama 3.1's scaling: low frequencies (long wavelengths) are divided by `factor`, high ones are
# kept, and the band in between is interpolated.
llama31 = dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
               original_max_position_embeddings=8192)
base, scaled = default_inv_freq(128, 500000.0), llama3_inv_freq(128, 500000.0, llama31)
wavelen = 2 * math.pi / base
high, low = wavelen < 8192 / 4, wavelen > 8192 / 1
assert torch.equal(scaled[high], base[high])
torch.testing.assert_close(scaled[low], base[low] / 8)
mid = ~high & ~low
assert mid.any() and bool(((scaled[mid] < base[mid]) & (scaled[mid] > base[mid] / 8)).all())
# --8<-- [end:rope]

# --8<-- [start:gqa]
T, H, Hk = 6, 8, 2                                   # 4 query heads share each KV head
q, k, v = torch.randn(H, T, D), torch.randn(Hk, T, D), torch.randn(Hk, T, D)
gqa = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
# The same as giving every query head its own copy of its group's K/V, without the copies.
group = H // Hk
expanded = F.scaled_dot_product_attention(
    q, k.repeat_interleave(group, dim=0), v.repeat_interleave(group, dim=0), is_causal=True)
torch.testing.assert_close(gqa, expanded)
# Query head h uses KV head h // group (consecutive query heads form a group), not h % Hk.
tiled = F.scaled_dot_product_attention(q, k.repeat(group, 1, 1), v.repeat(group, 1, 1),
                                       is_causal=True)
assert not torch.allclose(gqa, tiled)
# The KV cache stores only the Hk heads: a quarter of the bytes of full multi-head attention.
assert k.numel() * 4 == k.repeat_interleave(group, dim=0).numel()
# Decode has one query per head, so a group's query heads can instead be `group` query *rows*
# of their one KV head: a plain SDPA call that reads each KV head once (main's decode does this).
q1 = torch.randn(H, 1, D)
packed = F.scaled_dot_product_attention(q1.view(Hk, group, D), k, v).view(H, 1, D)
torch.testing.assert_close(packed, F.scaled_dot_product_attention(q1, k, v, enable_gqa=True))
# --8<-- [end:gqa]


# --8<-- [start:metadata]
MAX_LEN = 8  # tokens per slot (max_model_len)


def metadata(is_prefill, slot_ids, seq_lens, token_slot_ids, positions, starts):
    """AttentionMetadata from lists (the model runner builds the same from the scheduler).

    Since M3 the cache is paged; an M2 slot is one block of ``MAX_LEN`` tokens, so a sequence's
    block table is ``[its slot]`` and a token's K/V go to flat index ``slot * MAX_LEN + position``.
    """
    def t(xs, dtype=torch.int32):
        return torch.tensor(xs, dtype=dtype)

    return AttentionMetadata(
        is_prefill, positions=t(positions, torch.long),
        slot_mapping=t([s * MAX_LEN + p for s, p in zip(token_slot_ids, positions)], torch.long),
        seq_lens=t(seq_lens), block_tables=t([[s] for s in slot_ids]), query_start_loc=t(starts),
        query_start_loc_host=starts, seq_lens_host=seq_lens,
        max_query_len=max(e - s for s, e in zip(starts, starts[1:])),
        max_seq_len=max(seq_lens))


# A prefill step of three prompts (3, 1 and 2 tokens) going to KV slots 2, 0 and 1.
md = metadata(True, slot_ids=[2, 0, 1], seq_lens=[3, 1, 2],
              token_slot_ids=[2, 2, 2, 0, 1, 1],      # the slot of every token
              positions=[0, 1, 2, 0, 0, 1],            # the position of every token
              starts=[0, 3, 4, 6])                     # query_start_loc: S + 1 offsets
assert md.slot_mapping.tolist() == [16, 17, 18, 0, 8, 9]
T, H, Hk, D = 6, 4, 2, 16
q, k, v = torch.randn(T, H, D), torch.randn(T, Hk, D), torch.randn(T, Hk, D)

# write_kv puts each token's K/V at (its slot, its position) of a [slots, max_len, Hk, D] cache.
k_cache, v_cache = torch.zeros(3, MAX_LEN, Hk, D), torch.zeros(3, MAX_LEN, Hk, D)
write_kv(k_cache, v_cache, k, v, md)
assert torch.equal(k_cache[2, :3], k[0:3]) and torch.equal(k_cache[0, 0], k[3])
assert torch.equal(k_cache[1, :2], k[4:6]) and k_cache[1, 2:].abs().sum() == 0

# The reference backend attends within each slice [starts[i], starts[i+1]) of the flat batch.
out = prefill_attention(q, k, v, k_cache, v_cache, md, scale=D ** -0.5)
# Wrong metadata mixes sequences: treat the batch as one sequence, and every token after the
# first prompt attends to tokens of other prompts.
one_seq = metadata(True, [0], [6], [0] * 6, list(range(6)), [0, 6])
mixed = prefill_attention(q, k, v, k_cache, v_cache, one_seq, scale=D ** -0.5)
torch.testing.assert_close(mixed[:3], out[:3])         # the first prompt sees only itself
assert not torch.allclose(mixed[3:], out[3:])          # the others now see foreign tokens
# --8<-- [end:metadata]

# --8<-- [start:backend]
# Prefill: one causal SDPA per sequence over the fresh Q/K/V; the cache is only written.
starts = md.query_start_loc_host
for s, e in zip(starts[:-1], starts[1:]):
    alone = F.scaled_dot_product_attention(q[s:e].transpose(0, 1), k[s:e].transpose(0, 1),
                                           v[s:e].transpose(0, 1), is_causal=True,
                                           enable_gqa=True).transpose(0, 1)
    torch.testing.assert_close(out[s:e], alone)

# Decode: one new token per sequence. Slot 2 holds 4 tokens now, slot 0 holds 2.
dec = metadata(False, slot_ids=[2, 0], seq_lens=[4, 2], token_slot_ids=[2, 0],
               positions=[3, 1], starts=[0, 1, 2])
q1, k1, v1 = torch.randn(2, H, D), torch.randn(2, Hk, D), torch.randn(2, Hk, D)
write_kv(k_cache, v_cache, k1, v1, dec)               # the new token's K/V first
k_cache[0, 2:] = v_cache[0, 2:] = 1e4                 # stale data past slot 0's length
out = decode_attention(q1, k_cache, v_cache, dec, scale=D ** -0.5)
for i, (slot, n) in enumerate([(2, 4), (0, 2)]):      # each row: its own slot, its own length
    alone = F.scaled_dot_product_attention(
        q1[i][:, None], k_cache[slot, :n].transpose(0, 1), v_cache[slot, :n].transpose(0, 1),
        enable_gqa=True)[:, 0]
    torch.testing.assert_close(out[i], alone)
# The seq_lens mask hid the stale 1e4 values: a reused slot needs no clearing.
# --8<-- [end:backend]

# --8<-- [start:onednn]
x, w = torch.randn(32, 576), torch.randn(1536, 576)    # 32 decode rows, the default model's width
# float32 on an x86-64 CPU goes to oneDNN (when the build has it); everything else to F.linear.
assert use_onednn(x, w) == ONEDNN_LINEAR and not use_onednn(x.bfloat16(), w.bfloat16())
ours, default = linear(x, w), F.linear(x, w)            # oneDNN vs MKL's sgemm
# The same products summed in another order: equal to float32 rounding, not bit for bit.
torch.testing.assert_close(ours, default, rtol=1e-5, atol=1e-4)
print(f"largest difference: {(ours - default).abs().max().item():.1e} "
      f"on values up to {default.abs().max().item():.0f}")
# --8<-- [end:onednn]

print("layer answers: all asserts passed")
