"""The reference attention backend over the paged KV cache: plain PyTorch, CPU and GPU.

Correctness first: it is what the Triton kernels are tested against, and what runs on CPU. It
*gathers* each sequence's blocks into a contiguous copy and calls SDPA; the Triton kernels read
the blocks in place instead. The cache of a layer is ``[num_blocks, block_size, num_kv_heads,
head_dim]``; see ``AttentionMetadata`` for how blocks and slots are addressed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from folovllm.attention.metadata import AttentionMetadata

# Python loops over the host copy of the lengths: a CUDA graph would replay the lengths
# it recorded, so decode steps never run in one (M6).
SUPPORTS_CUDA_GRAPHS = False
# It gathers whole blocks and masks their unused tail: the runner zeroes a block before its
# first use, since a mask does not remove a NaN that uninitialised memory may hold.
READS_WHOLE_BLOCKS = True


# --8<-- [start:write_kv]
def write_kv(k_cache: torch.Tensor, v_cache: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
             md: AttentionMetadata) -> None:
    """Store each new token's K/V ``[T, Hk, D]`` at its slot, in the cache's dtype
    (``cache_dtype`` may be narrower than the model's). A slot indexes the cache viewed as
    ``[num_blocks * block_size, Hk, D]``; a slot < 0 is skipped, as the Triton kernel does
    (its K/V are already in the cache)."""
    slots, keep = md.slot_mapping, md.slot_mapping >= 0
    k_cache.view(-1, *k_cache.shape[2:])[slots[keep]] = k[keep].to(k_cache.dtype)
    v_cache.view(-1, *v_cache.shape[2:])[slots[keep]] = v[keep].to(v_cache.dtype)
# --8<-- [end:write_kv]


def gather_context(cache: torch.Tensor, block_table: torch.Tensor, length: int) -> torch.Tensor:
    """The first ``length`` tokens of one sequence, copied out of its blocks: ``[length, Hk, D]``."""
    blocks = block_table[: -(-length // cache.shape[1])]
    return cache[blocks].flatten(0, 1)[:length]


# --8<-- [start:prefill]
def prefill_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, k_cache: torch.Tensor,
                      v_cache: torch.Tensor, md: AttentionMetadata, scale: float) -> torch.Tensor:
    """Causal attention of each sequence's new tokens over its context; ``[T, H, D]``.

    When the new tokens are the whole context (a fresh prompt) they are attended directly; when
    some of it is already cached (a decoding sequence in a mixed batch, a cached prefix in M4, a
    later chunk in M5) the context is gathered from the blocks and query ``i`` of ``q_len`` sees
    positions up to ``seq_len - q_len + i``. One SDPA call per sequence.
    The KV heads are repeated for their query heads first: on CPU (torch 2.13), SDPA with
    ``enable_gqa=True`` takes its unfused math path, while repeated heads keep it on the fused
    flash kernel, which is faster once a prompt has more than about a hundred tokens.
    """
    out = torch.empty_like(q)
    group = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
    starts = md.query_start_loc_host
    for i, seq_len in enumerate(md.seq_lens_host):
        s, e = starts[i], starts[i + 1]
        if e - s == seq_len:
            keys, values, mask, causal = k[s:e], v[s:e], None, True
        else:
            keys = gather_context(k_cache, md.block_tables[i], seq_len).to(q.dtype)
            keys = keys.repeat_interleave(group, 1)
            values = gather_context(v_cache, md.block_tables[i], seq_len).to(q.dtype)
            values = values.repeat_interleave(group, 1)
            mask = torch.ones(e - s, seq_len, dtype=torch.bool, device=q.device).tril(seq_len - (e - s))
            causal = False
        out[s:e] = F.scaled_dot_product_attention(
            q[s:e].transpose(0, 1), keys.transpose(0, 1), values.transpose(0, 1),
            attn_mask=mask, is_causal=causal, scale=scale).transpose(0, 1)
    return out
# --8<-- [end:prefill]


# --8<-- [start:decode]
def decode_attention(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                     md: AttentionMetadata, scale: float) -> torch.Tensor:
    """One new query per sequence against its cached context (the new token included).

    Gathers the blocks of the block tables (``[S, B * block_size, Hk, D]``, a copy) and masks
    the positions past each sequence's length, so a short sequence pays for the longest one's
    table width; the Triton decode kernel reads only each sequence's own blocks, in place.
    Two choices make it cheaper on CPU without changing what it computes: ``index_select``
    copies the blocks (measured about 2.5x faster there than indexing with ``cache[tables]``),
    and the ``G`` query heads that share a KV head are viewed as ``G`` query *rows* of that one
    head, ``[S, Hk, G, D]``, so a plain SDPA call reads each KV head once, as the Triton kernel's
    packing does, instead of once per query head.
    """
    s, hk = q.shape[0], k_cache.shape[2]
    tables = md.block_tables[:, : -(-md.max_seq_len // k_cache.shape[1])].flatten()
    keys = k_cache.index_select(0, tables).view(s, -1, hk, k_cache.shape[3])   # [S, L, Hk, D]
    values = v_cache.index_select(0, tables).view(s, -1, hk, v_cache.shape[3])
    valid = torch.arange(keys.shape[1], device=q.device)[None, :] < md.seq_lens[:, None]
    out = F.scaled_dot_product_attention(
        q.reshape(s, hk, -1, q.shape[2]), keys.transpose(1, 2).to(q.dtype),
        values.transpose(1, 2).to(q.dtype), attn_mask=valid[:, None, None, :], scale=scale)
    return out.reshape(q.shape)
# --8<-- [end:decode]
