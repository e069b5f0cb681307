"""M3 interview answers on attention kernels: why paged decode is memory-bound (roofline
arithmetic), GQA head packing, flash-decoding's split-K merge, why prefill is compute-bound, and
what the torch reference backend copies that a paged kernel reads in place.

Plain PyTorch on the CPU, no model, no Triton (``interview_triton.py`` runs the kernels). The
hardware figures are vendor specs, used as inputs. Runs in a couple of seconds.
Run from the repository root: ``python docs/snippets/m3/interview_kernels.py``.
"""

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from folovllm.attention.backends import torch_ref
from folovllm.attention.metadata import AttentionMetadata
from benchmarks.kernels import decode_bytes
from folovllm.core.kv_cache_manager import cdiv

# --8<-- [start:roofline]
B, L = 256, 1024                   # batch x context of one decode step
H, Hk, D = 16, 8, 128              # Qwen3-0.6B: query heads, KV heads, head_dim; bf16
LAYERS, PARAMS = 28, 596_049_920

# Bytes one layer's decode attention must move: K and V of every context dominate.
kv_bytes = 2 * B * L * Hk * D * 2
step_bytes = decode_bytes(B, L, H, Hk, D, block_size=16, dtype_bytes=2)
assert kv_bytes == 2**30 and step_bytes == 1_075_905_536     # 1 GiB of K/V per layer
assert kv_bytes / step_bytes > 0.99                          # queries, outputs, tables: < 1%

# FLOPs: q.k and p.v, one multiply-add (2 FLOPs) per element of each.
flops = 2 * (2 * B * H * L * D)
intensity = flops / step_bytes
assert round(intensity, 2) == 2.0            # = H / Hk: each K/V element serves 2 query heads

# Vendor specs (NVIDIA H100 SXM datasheet), inputs, not measurements:
HBM_BYTES_PER_S = 3.35e12                    # HBM3 bandwidth
BF16_FLOPS_PER_S = 990e12                    # dense bf16 tensor-core peak
ridge = BF16_FLOPS_PER_S / HBM_BYTES_PER_S   # FLOPs per byte needed to be compute-bound
assert int(ridge) == 295 and ridge / intensity > 140         # ~150x below the ridge point

# Batching does not help attention: each sequence brings its own K/V. It does help the
# weights, read once per step for all B rows: ~B FLOPs per byte, near the ridge at B = 256.
weight_intensity = (2 * PARAMS * B) / (PARAMS * 2)
assert weight_intensity == B and weight_intensity < ridge
# At this shape a step reads 25x more K/V than weights, over all 28 layers.
assert round(LAYERS * kv_bytes / (PARAMS * 2)) == 25

# The committed H200 measurement of the Triton decode kernel at this shape moved these bytes
# at the GPU's own device-to-device copy bandwidth.
kernel = json.loads(Path("docs/benchmarks/results/m3-gpu-decode-kernel.json").read_text())
assert kernel["shapes"]["batch"] == B and kernel["decode_bytes"] == step_bytes
assert round(kernel["fraction"], 1) == 1.0
# --8<-- [end:roofline]

# --8<-- [start:gqa_packing]
torch.manual_seed(0)
g = H // Hk                                    # 2 query heads per KV head
q = torch.randn(g, D, dtype=torch.float64)     # the group's queries, one row per head
k = torch.randn(L, D, dtype=torch.float64)     # their shared KV head's keys

# One matmul for the whole group equals one per head: the keys are loaded once, not g times.
packed = q @ k.T
torch.testing.assert_close(packed, torch.stack([q[h] @ k.T for h in range(g)]))

# tl.dot needs >= 16 rows: the tile is padded with zero rows, whose results are masked off.
tile = torch.zeros(16, D, dtype=torch.float64)
tile[:g] = q
torch.testing.assert_close((tile @ k.T)[:g], packed)

# A (sequence, KV head) program reads its K and V once: 1 GiB per layer at B = 256. One
# program per query head would ask for every byte g times: 2 GiB.
kv_head_bytes = 2 * L * D * 2
assert B * Hk * kv_head_bytes == kv_bytes and B * H * kv_head_bytes == 2 * kv_bytes
# Padding wastes 14 of 16 rows of arithmetic, and the kernel stays far below the ridge anyway.
executed = 2 * 2 * 16 * L * D / kv_head_bytes
assert executed == 16 and executed < ridge
# --8<-- [end:gqa_packing]

# --8<-- [start:split_k]
torch.manual_seed(1)
L1 = 1000
q = torch.randn(D, dtype=torch.float64)
k, v = torch.randn(L1, D, dtype=torch.float64), torch.randn(L1, D, dtype=torch.float64)
scale = D ** -0.5
full = torch.softmax(k @ q * scale, dim=0) @ v      # attention over the whole context


def split_attention(ks: torch.Tensor, vs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One split's normalised output and log-sum-exp, as each kernel program writes them."""
    s = ks @ q * scale
    if s.numel() == 0:                              # a split past the end of the context
        return torch.zeros(D, dtype=torch.float64), torch.tensor(float("-inf"), dtype=torch.float64)
    m = s.max()
    p = torch.exp(s - m)                            # never overflows: every exponent <= 0
    return (p @ vs) / p.sum(), m + torch.log(p.sum())


bounds = [0, 300, 1000, 1000]                       # uneven splits, the last one empty
parts = [split_attention(k[a:b], v[a:b]) for a, b in zip(bounds, bounds[1:])]
outs = torch.stack([o for o, _ in parts])
lse = torch.stack([x for _, x in parts])

# Merge: weight each split by its share of the softmax denominator, exp(lse_i - max lse).
w = torch.exp(lse - lse.max())
merged = (w[:, None] * outs).sum(0) / w.sum()
torch.testing.assert_close(merged, full, rtol=1e-12, atol=1e-12)
assert w[-1] == 0                                   # the empty split counts for nothing
# The merged log-sum-exp is the full one too, so merges nest (splits of splits).
torch.testing.assert_close(lse.max() + torch.log(w.sum()), torch.logsumexp(k @ q * scale, 0))
# --8<-- [end:split_k]

# --8<-- [start:prefill_bound]
T = 2048                                        # one prompt of 2048 tokens
# Weights: each element is read once and used by every token of the step: T FLOPs per byte.
assert (2 * PARAMS * T) / (PARAMS * 2) == T > ridge
# Causal attention over the prompt, one layer: scores and p.v over the lower triangle...
attn_flops = 4 * H * D * (T * (T + 1) // 2)
# ...against reading Q, K, V once and writing O once (a flash-attention kernel's traffic).
attn_bytes = (2 * H + 2 * Hk) * T * D * 2
assert round(attn_flops / attn_bytes) == 683 and attn_flops / attn_bytes > ridge
# The same layer in decode (one new token against the same 2048 keys): 2 FLOPs per byte.
assert round((4 * H * D * T) / (2 * T * Hk * D * 2), 1) == 2.0
# --8<-- [end:prefill_bound]

# --8<-- [start:gather]
torch.manual_seed(2)
bs, Hk_, H_, D_ = 16, 2, 4, 32
seq_lens = [1000, 10, 10, 10]
per_seq = [cdiv(n, bs) for n in seq_lens]
num_blocks = sum(per_seq) + 4
perm = torch.randperm(num_blocks).tolist()          # blocks scattered over the whole cache
tables, at = [], 0
for n in per_seq:
    tables.append(perm[at:at + n])
    at += n
width = max(per_seq)
k_cache = torch.randn(num_blocks, bs, Hk_, D_)
v_cache = torch.randn(num_blocks, bs, Hk_, D_)
md = AttentionMetadata(
    is_prefill=False, positions=torch.tensor([n - 1 for n in seq_lens]),
    slot_mapping=torch.tensor([t[(n - 1) // bs] * bs + (n - 1) % bs for t, n in zip(tables, seq_lens)]),
    seq_lens=torch.tensor(seq_lens, dtype=torch.int32),
    block_tables=torch.tensor([t + [0] * (width - len(t)) for t in tables], dtype=torch.int32),
    query_start_loc=torch.arange(5, dtype=torch.int32), query_start_loc_host=[0, 1, 2, 3, 4],
    seq_lens_host=seq_lens, max_query_len=1, max_seq_len=1000)
q = torch.randn(4, H_, D_)
out = torch_ref.decode_attention(q, k_cache, v_cache, md, scale=D_ ** -0.5)

for i, n in enumerate(seq_lens):                    # each sequence against its own tokens only
    keys = torch_ref.gather_context(k_cache, md.block_tables[i], n)
    values = torch_ref.gather_context(v_cache, md.block_tables[i], n)
    ref = F.scaled_dot_product_attention(q[i].unsqueeze(1), keys.transpose(0, 1),
                                         values.transpose(0, 1), enable_gqa=True).squeeze(1)
    torch.testing.assert_close(out[i], ref)

# What the reference copies: every sequence's table to the longest one's width, K and V.
copied = len(seq_lens) * cdiv(max(seq_lens), bs) * bs
assert (copied, sum(seq_lens)) == (4032, 1030)      # rows copied vs rows a paged kernel reads

# The mask hides whatever lies past seq_len (an old sequence's K/V in a reused block)...
tail = tables[1][0]                                 # sequence 1 uses slots 0..9 of this block
v_cache[tail, 10:] = 1e4
torch.testing.assert_close(torch_ref.decode_attention(q, k_cache, v_cache, md, D_ ** -0.5), out)
# ...but not a NaN: 0 x NaN is NaN. That is why the runner zero-fills the cache at start-up.
v_cache[tail, 10:] = float("nan")
assert torch_ref.decode_attention(q, k_cache, v_cache, md, D_ ** -0.5)[1].isnan().all()
# --8<-- [end:gather]

print("kernel answers: all asserts passed")
