"""The paged decode kernel's arithmetic in plain PyTorch (float64).

Each program walks its split of one sequence's context in tiles of BLOCK_N
keys, gathered through the block table, keeping a running max `m`, a
running sum `l` and an unnormalised output `acc`, in base 2. The splits
are merged by weighting each with 2 ** (its log-sum-exp - the max).
"""

import math

import torch

from benchmarks.kernels import decode_bytes

torch.manual_seed(0)
LOG2E = 1 / math.log(2)
BLOCK_SIZE, BLOCK_N, GROUP, D = 16, 64, 2, 8  # GROUP: query heads per KV head
k_cache = torch.randn(40, BLOCK_SIZE, D, dtype=torch.float64)  # one KV head
v_cache = torch.randn(40, BLOCK_SIZE, D, dtype=torch.float64)
table = torch.randperm(40)[:19]  # a 300-token sequence's blocks, scattered
q = torch.randn(GROUP, D, dtype=torch.float64) * D ** -0.5 * LOG2E


def split_bounds(seq_len: int, splits: int) -> list[tuple[int, int]]:
    """Equal parts of [0, seq_len), rounded up to whole key tiles."""
    per = -(-seq_len // splits)  # ceil
    n = -(-per // BLOCK_N) * BLOCK_N  # up to whole tiles
    return [(s * n, min(s * n + n, seq_len)) for s in range(splits)]


def one_split(start: int, end: int):
    """One program: online softmax over tiles gathered via the table."""
    m = torch.full((GROUP,), -math.inf, dtype=torch.float64)
    if start >= end:  # a split past the end: weight 0 in the merge
        return torch.zeros(GROUP, D).double(), m
    l, acc = torch.zeros(GROUP).double(), torch.zeros(GROUP, D).double()
    for t in range(start, end, BLOCK_N):
        pos = torch.arange(t, min(t + BLOCK_N, end))
        k = k_cache[table[pos // BLOCK_SIZE], pos % BLOCK_SIZE]  # lookup
        v = v_cache[table[pos // BLOCK_SIZE], pos % BLOCK_SIZE]
        s = q @ k.T  # base-2 scores
        m_new = torch.maximum(m, s.max(dim=1).values)
        alpha = torch.exp2(m - m_new)  # rescale what we had so far
        p = torch.exp2(s - m_new[:, None])
        l, acc, m = l * alpha + p.sum(1), acc * alpha[:, None] + p @ v, m_new
    return acc / l[:, None], m + torch.log2(l)  # output, log-sum-exp


def merge(parts):
    outs = torch.stack([o for o, _ in parts])
    lse = torch.stack([x for _, x in parts])
    w = torch.exp2(lse - lse.max(dim=0).values)
    return (w[:, :, None] * outs).sum(0) / w.sum(0)[:, None]


keys = k_cache[table].flatten(0, 1)[:300]  # the plain way: gather all,
values = v_cache[table].flatten(0, 1)[:300]  # then one softmax
reference = torch.softmax(q @ keys.T / LOG2E, dim=-1) @ values
for splits in (1, 2, 3, 5):
    bounds = split_bounds(300, splits)
    out = merge([one_split(a, b) for a, b in bounds])
    same = torch.allclose(out, reference, rtol=0, atol=1e-12)
    print(f"{splits} splits {bounds}: equal to softmax: {same}")

# Why decode is bound by memory: one layer of Qwen3-0.6B, bf16.
batch, ctx, heads, kv_heads, dim = 256, 1024, 16, 8, 128
kv = 2 * batch * ctx * kv_heads * dim * 2  # K and V, 2 bytes each
flops = batch * heads * ctx * 4 * dim  # q.k and p.v: 2 FLOPs each
moved = decode_bytes(batch, ctx, heads, kv_heads, dim, 16, dtype_bytes=2)
print(f"one layer, {batch} x {ctx} tokens: {kv / 2**30:.0f} GiB of K/V "
      f"({kv / moved:.1%} of the bytes), {flops / kv:.0f} FLOPs per byte")
