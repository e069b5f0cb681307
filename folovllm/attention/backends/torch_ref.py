"""The reference attention backend: plain PyTorch, runs on CPU and GPU.

Correctness first: it is what every faster backend is tested against. The K/V cache of M2 is one
contiguous region per sequence slot: ``[num_slots, max_model_len, num_kv_heads, head_dim]``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from folovllm.attention.metadata import AttentionMetadata


def write_kv(k_cache: torch.Tensor, v_cache: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
             md: AttentionMetadata) -> None:
    """Store each new token's K/V ``[T, Hk, D]`` at (its slot, its position), in the cache's
    dtype (``cache_dtype`` may be narrower than the model's)."""
    k_cache[md.token_slot_ids, md.positions] = k.to(k_cache.dtype)
    v_cache[md.token_slot_ids, md.positions] = v.to(v_cache.dtype)


def prefill_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, md: AttentionMetadata,
                      scale: float) -> torch.Tensor:
    """Causal attention within each prompt: the prompts' tokens are the whole context.

    One SDPA call per sequence over its slice of the flat batch; no padding is ever computed.
    """
    out = torch.empty_like(q)
    starts = md.query_start_loc
    for i in range(len(starts) - 1):
        s, e = starts[i], starts[i + 1]
        out[s:e] = F.scaled_dot_product_attention(
            q[s:e].transpose(0, 1), k[s:e].transpose(0, 1), v[s:e].transpose(0, 1),
            is_causal=True, scale=scale, enable_gqa=True).transpose(0, 1)
    return out


def decode_attention(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                     md: AttentionMetadata, scale: float) -> torch.Tensor:
    """One new query per sequence against its cached context (which includes the new token).

    Reads ``max_seq_len`` positions of every sequence's slot and masks the ones past its length:
    short sequences pay for the longest one, one of the costs paged attention (M3) removes.

    When the scheduled slots lie in a narrow window (``md.slot_window``), attention runs over
    that window of the cache in place (a view: nothing copied), with each query put at its slot's
    row and the rows of unscheduled slots thrown away; otherwise the scheduled slots are copied
    out first (``index_select``), ``S x max_seq_len`` positions per layer.
    """
    length = md.max_seq_len
    if md.slot_window is not None:
        lo, hi = md.slot_window
        rows = md.slot_ids - lo
        keys, values = k_cache[lo:hi + 1, :length], v_cache[lo:hi + 1, :length]
        queries = q.new_zeros((hi - lo + 1, *q.shape[1:])).index_copy_(0, rows, q)
        lens = md.seq_lens.new_ones(hi - lo + 1).index_copy_(0, rows, md.seq_lens)
    else:
        rows, queries, lens = None, q, md.seq_lens
        keys = k_cache[:, :length].index_select(0, md.slot_ids)
        values = v_cache[:, :length].index_select(0, md.slot_ids)
    valid = torch.arange(length, device=q.device)[None, :] < lens[:, None]    # [rows, L]
    out = F.scaled_dot_product_attention(
        queries.unsqueeze(2), keys.transpose(1, 2).to(q.dtype), values.transpose(1, 2).to(q.dtype),
        attn_mask=valid[:, None, None, :], scale=scale, enable_gqa=True).squeeze(2)
    return out if rows is None else out.index_select(0, rows)
