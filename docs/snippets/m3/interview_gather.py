"""What the torch reference copies, and what a paged kernel reads in place."""

import torch
import torch.nn.functional as F

from folovllm.attention.backends import torch_ref
from folovllm.attention.metadata import AttentionMetadata
from folovllm.core.kv_cache_manager import cdiv

torch.manual_seed(2)
bs, Hk, H, D = 16, 2, 4, 32
seq_lens = [1000, 10, 10, 10]
per_seq = [cdiv(n, bs) for n in seq_lens]
num_blocks = sum(per_seq) + 4
perm = torch.randperm(num_blocks).tolist()  # blocks scattered over the cache
tables, at = [], 0
for n in per_seq:
    tables.append(perm[at:at + n])
    at += n
width = max(per_seq)
k_cache = torch.randn(num_blocks, bs, Hk, D)
v_cache = torch.randn(num_blocks, bs, Hk, D)
slots = [t[(n - 1) // bs] * bs + (n - 1) % bs for t, n in zip(tables, seq_lens)]
md = AttentionMetadata(
    positions=torch.tensor([n - 1 for n in seq_lens]),
    slot_mapping=torch.tensor(slots),
    seq_lens=torch.tensor(seq_lens, dtype=torch.int32),
    block_tables=torch.tensor([t + [0] * (width - len(t)) for t in tables],
                              dtype=torch.int32),
    query_start_loc=torch.arange(5, dtype=torch.int32),
    query_start_loc_host=[0, 1, 2, 3, 4], seq_lens_host=seq_lens,
    max_query_len=1, max_seq_len=1000)
q = torch.randn(4, H, D)
out = torch_ref.decode_attention(q, k_cache, v_cache, md, scale=D ** -0.5)

refs = []  # each sequence against its own tokens only
for i, n in enumerate(seq_lens):
    keys = torch_ref.gather_context(k_cache, md.block_tables[i], n)
    values = torch_ref.gather_context(v_cache, md.block_tables[i], n)
    refs.append(F.scaled_dot_product_attention(
        q[i].unsqueeze(1), keys.transpose(0, 1), values.transpose(0, 1),
        enable_gqa=True).squeeze(1))
print("each row == SDPA over its own gathered context:",
      all(torch.allclose(out[i], r, atol=1e-6) for i, r in enumerate(refs)))

# The reference pads every table to the longest one's width, K and V.
copied = len(seq_lens) * cdiv(max(seq_lens), bs) * bs
print(f"rows copied: {copied:,} | rows a paged kernel reads: {sum(seq_lens):,}")

# The mask hides what lies past seq_len (old K/V in a reused block) ...
tail = tables[1][0]  # sequence 1 uses slots 0..9 of this block
v_cache[tail, 10:] = 1e4
stale = torch_ref.decode_attention(q, k_cache, v_cache, md, D ** -0.5)
print("stale 1e4 past seq_len changes the output:",
      not torch.allclose(stale, out, atol=1e-6))
# ... but not a NaN: 0 x NaN is NaN. Hence the cache is zero-filled at start.
v_cache[tail, 10:] = float("nan")
nan_out = torch_ref.decode_attention(q, k_cache, v_cache, md, D ** -0.5)
print("NaN past seq_len reaches row 1:", bool(nan_out[1].isnan().all()))
