"""The arithmetic of the paged decode kernel, in plain PyTorch: tiles, online softmax, splits.

`_paged_decode_kernel` (folovllm/attention/backends/triton_attn.py) never holds a whole row of
scores. Each program walks its part of one sequence's context in tiles of `BLOCK_N` keys, looks
each key's physical block up in the block table, and folds the tile into a running maximum `m`,
a running denominator `l` and an unnormalised output `acc`, in base 2 (`exp2`). When the context
is cut into splits, each split ends with its own normalised output and log-sum-exp, and
`_merge_splits_kernel` weighs the splits by `2 ** (lse - max lse)`. This file does the same steps
in float64 and checks them against a plain softmax.
"""

import math

import torch

from benchmarks.kernels import decode_bytes

torch.manual_seed(0)
LOG2E = 1 / math.log(2)
BLOCK_SIZE, BLOCK_N, GROUP, D = 16, 64, 2, 8   # GROUP: query heads per KV head (Qwen3-0.6B: 2)

num_blocks, seq_len = 40, 300
k_cache = torch.randn(num_blocks, BLOCK_SIZE, D, dtype=torch.float64)  # one KV head
v_cache = torch.randn(num_blocks, BLOCK_SIZE, D, dtype=torch.float64)
table = torch.randperm(num_blocks)[: -(-seq_len // BLOCK_SIZE)]       # 19 blocks, scattered
q = torch.randn(GROUP, D, dtype=torch.float64)                        # the group, one tile
scale = D ** -0.5

# Reference: gather the context in order, plain softmax.
keys = k_cache[table].flatten(0, 1)[:seq_len]
values = v_cache[table].flatten(0, 1)[:seq_len]
reference = torch.softmax(q @ keys.T * scale, dim=-1) @ values


def split_bounds(seq_len: int, num_splits: int) -> list[tuple[int, int]]:
    """The kernel's split of [0, seq_len): equal parts rounded up to whole key tiles."""
    split_len = -(-(-(-seq_len // num_splits)) // BLOCK_N) * BLOCK_N
    return [(s * split_len, min(s * split_len + split_len, seq_len)) for s in range(num_splits)]


def one_split(start: int, end: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One program: online softmax over key tiles gathered through the block table."""
    m = torch.full((GROUP,), -math.inf, dtype=torch.float64)
    l = torch.zeros(GROUP, dtype=torch.float64)
    acc = torch.zeros(GROUP, D, dtype=torch.float64)
    for tile_start in range(start, end, BLOCK_N):
        pos = torch.arange(tile_start, tile_start + BLOCK_N)
        valid = pos < end
        blocks = table[torch.where(valid, pos // BLOCK_SIZE, 0)]     # the table lookup
        k = k_cache[blocks, pos % BLOCK_SIZE]
        v = v_cache[blocks, pos % BLOCK_SIZE]
        s = (q @ k.T) * (scale * LOG2E)                                 # base-2 scores
        s = torch.where(valid[None, :], s, -math.inf)
        m_new = torch.maximum(m, s.max(dim=1).values)
        alpha = torch.exp2(m - m_new)                                   # rescale what we had
        p = torch.exp2(s - m_new[:, None])
        l = l * alpha + p.sum(dim=1)
        acc = acc * alpha[:, None] + p @ v
        m = m_new
    if not (l > 0).all():                                               # a split past the end
        return torch.zeros(GROUP, D, dtype=torch.float64), torch.full((GROUP,), -math.inf,
                                                                      dtype=torch.float64)
    return acc / l[:, None], m + torch.log2(l)


def merge(parts: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    outs = torch.stack([o for o, _ in parts])                          # [splits, GROUP, D]
    lse = torch.stack([x for _, x in parts])                           # [splits, GROUP]
    w = torch.exp2(lse - lse.max(dim=0).values)                        # split 0 is never empty
    return (w[:, :, None] * outs).sum(0) / w.sum(0)[:, None]


assert split_bounds(300, 1) == [(0, 300)]
assert split_bounds(300, 3) == [(0, 128), (128, 256), (256, 300)]
assert split_bounds(100, 3) == [(0, 64), (64, 100), (128, 100)]       # the last one is empty
for num_splits in (1, 2, 3, 5):
    parts = [one_split(a, b) for a, b in split_bounds(seq_len, num_splits)]
    out = parts[0][0] if num_splits == 1 else merge(parts)
    torch.testing.assert_close(out, reference, rtol=0, atol=1e-12)
short = [one_split(a, b) for a, b in split_bounds(100, 3)]
ref100 = torch.softmax(q @ keys[:100].T * scale, -1) @ values[:100]
torch.testing.assert_close(merge(short), ref100, rtol=0, atol=1e-12)
print("online softmax over gathered tiles, 1, 2, 3 and 5 splits merged: equal to softmax")

# --- why decode is bound by memory: bytes and FLOPs of one layer's decode attention ----------
batch, context, heads, kv_heads, head_dim = 256, 1024, 16, 8, 128      # Qwen3-0.6B, bf16
nbytes = decode_bytes(batch, context, heads, kv_heads, head_dim, block_size=16, dtype_bytes=2)
kv_bytes = 2 * batch * context * kv_heads * head_dim * 2
assert kv_bytes == 2**30 and round(100 * kv_bytes / nbytes, 1) == 99.8   # 1 GiB of K/V per layer
flops = batch * heads * context * 4 * head_dim                        # q.k and p.v, 2 FLOPs each
assert flops / kv_bytes == heads // kv_heads == 2                     # = GROUP FLOPs per byte
assert 28 * kv_bytes == 28 * 2**30                                    # all 28 layers: 28 GiB/step
print(f"decode, batch {batch} x context {context}: {kv_bytes / 2**30:.0f} GiB of K/V per layer, "
      f"{flops / kv_bytes:.0f} FLOPs per byte")
print("split softmax: all numbers check out")
