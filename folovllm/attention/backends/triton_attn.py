"""The Triton attention backend: paged KV cache kernels for CUDA GPUs.

The K/V cache of a layer is ``[num_blocks, block_size, num_kv_heads, head_dim]``. A sequence's
context is scattered over blocks that its row of the block table lists in order, so the token at
position ``p`` lives in block ``block_table[p // block_size]`` at offset ``p % block_size``. The
kernels look each key's block up in the table as they go: no sequence's context is ever copied
out, and a sequence reads only its own ``seq_len`` tokens (not the batch's longest).

Three kernels (plus a small merge):

- ``store_kvcache``: scatter the step's new K/V into their slots;
- ``paged_decode``: one query per sequence against its whole context ("flash decoding");
- ``paged_prefill``: causal flash attention of a run of queries against a context that may
  start with a prefix already in the cache.

The module has the same three entry points as the reference backend (``write_kv``,
``prefill_attention``, ``decode_attention``); the lower-level functions take plain tensors so that
tests and benchmarks need no metadata. Scores and sums are accumulated in fp32 whatever the
dtypes; the cache may be narrower than the queries (a bf16 cache for an fp32 model): values are
rounded to the cache's dtype on store and widened to the query's dtype on load.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import triton
import triton.language as tl

from folovllm.attention.metadata import AttentionMetadata

# Every kernel reads the step's lengths and tables from device memory, so a CUDA graph
# that recorded them replays correctly for new values (M6).
SUPPORTS_CUDA_GRAPHS = True
# Masked loads read nothing past a sequence's length: blocks need no zeroing before use.
READS_WHOLE_BLOCKS = False

_LOG2E = 1.4426950408889634  # softmax in base 2: exp(x) == exp2(x * log2(e)), exp2 is one instruction
_MIN_DOT = 16                # tl.dot needs every tile dimension >= 16
_MIN_SPLIT_TOKENS = 256      # shorter splits: the partial outputs and merge outweigh the parallelism


@dataclass(frozen=True)
class KernelConfig:
    """Tile size along the keys and launch parameters of a paged attention kernel."""

    block_n: int = 64      # keys per loop iteration
    num_warps: int = 4
    num_stages: int = 2    # software pipelining depth: key tiles loaded ahead of their use
    block_m: int = 64      # queries per program (prefill only)


DECODE_CONFIG = KernelConfig(block_n=64, num_warps=4, num_stages=3)  # tuned on an H200
PREFILL_CONFIG = KernelConfig(block_n=64, num_warps=4, num_stages=2, block_m=64)
PREFILL_CONFIG_FP32 = KernelConfig(block_n=32, num_warps=4, num_stages=2, block_m=32)  # 4-byte tiles


# --------------------------------------------------------------------------- store


# --8<-- [start:store]
@triton.jit
def _store_kvcache_kernel(
    k_ptr, v_ptr, k_cache_ptr, v_cache_ptr, slot_mapping_ptr,
    stride_kt, stride_kh, stride_vt, stride_vh,
    stride_cb, stride_co, stride_ch,
    BLOCK_SIZE: tl.constexpr, NUM_KV_HEADS: tl.constexpr, HEAD_DIM: tl.constexpr,
    BLOCK_H: tl.constexpr, BLOCK_D: tl.constexpr,
):
    """One program per token: copy its ``[Hk, D]`` K and V rows to its slot (skip slot < 0)."""
    token = tl.program_id(0)
    slot = tl.load(slot_mapping_ptr + token).to(tl.int64)
    if slot < 0:
        return
    heads = tl.arange(0, BLOCK_H)[:, None]
    dims = tl.arange(0, BLOCK_D)[None, :]
    mask = (heads < NUM_KV_HEADS) & (dims < HEAD_DIM)
    dst = (slot // BLOCK_SIZE) * stride_cb + (slot % BLOCK_SIZE) * stride_co + heads * stride_ch + dims
    k = tl.load(k_ptr + token * stride_kt + heads * stride_kh + dims, mask=mask)
    v = tl.load(v_ptr + token * stride_vt + heads * stride_vh + dims, mask=mask)
    tl.store(k_cache_ptr + dst, k.to(k_cache_ptr.dtype.element_ty), mask=mask)
    tl.store(v_cache_ptr + dst, v.to(v_cache_ptr.dtype.element_ty), mask=mask)


def store_kvcache(k_cache: torch.Tensor, v_cache: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                  slot_mapping: torch.Tensor) -> None:
    """Write ``k``, ``v`` ``[T, Hk, D]`` into the caches at ``slot_mapping`` ``[T]``.

    Slots < 0 are skipped: their tokens' K/V are already in the cache (prefix caching).
    """
    _check_cache(k_cache, v_cache)
    num_tokens, num_kv_heads, head_dim = k.shape
    if num_tokens == 0:
        return
    if k.stride(-1) != 1 or v.stride(-1) != 1:
        raise ValueError("k and v need a contiguous last dimension")
    _store_kvcache_kernel[(num_tokens,)](
        k, v, k_cache, v_cache, slot_mapping,
        k.stride(0), k.stride(1), v.stride(0), v.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        BLOCK_SIZE=k_cache.shape[1], NUM_KV_HEADS=num_kv_heads, HEAD_DIM=head_dim,
        BLOCK_H=triton.next_power_of_2(num_kv_heads), BLOCK_D=triton.next_power_of_2(head_dim),
    )
# --8<-- [end:store]


# --------------------------------------------------------------------------- shared pieces


# --8<-- [start:tiles]
@triton.jit
def _kv_tile_offsets(block_table_row, positions, valid, kv_head, dims,
                     stride_b, stride_o, stride_h, BLOCK_SIZE: tl.constexpr):
    """Offsets into a cache of one KV head's ``[len(positions), len(dims)]`` rows for a sequence's
    positions, each in the physical block its table names (contexts need not be contiguous)."""
    block_ids = tl.load(block_table_row + positions // BLOCK_SIZE, mask=valid, other=0).to(tl.int64)
    rows = block_ids * stride_b + (positions % BLOCK_SIZE) * stride_o + kv_head * stride_h
    return rows[:, None] + dims[None, :]


@triton.jit
def _load_kv_tile(k_cache_ptr, v_cache_ptr, table_row, positions, valid, kv_head, dims, dim_mask,
                  stride_b, stride_o, stride_h, BLOCK_SIZE: tl.constexpr, dtype: tl.constexpr):
    """One tile of K and V ``[len(positions), len(dims)]`` gathered through the block table
    (masked positions read as 0), cast to the queries' ``dtype``."""
    offsets = _kv_tile_offsets(table_row, positions, valid, kv_head, dims,
                               stride_b, stride_o, stride_h, BLOCK_SIZE)
    kv_mask = valid[:, None] & dim_mask[None, :]
    k = tl.load(k_cache_ptr + offsets, mask=kv_mask, other=0.0).to(dtype)
    v = tl.load(v_cache_ptr + offsets, mask=kv_mask, other=0.0).to(dtype)
    return k, v


@triton.jit
def _online_softmax_step(acc, m_i, l_i, scores, v, DOT_PRECISION: tl.constexpr):
    """Fold one tile of (base-2, already scaled and masked) scores and its values into the
    running maximum ``m_i``, denominator ``l_i`` and unnormalised output ``acc``."""
    m_new = tl.maximum(m_i, tl.max(scores, 1))
    alpha = tl.exp2(m_i - m_new)
    p = tl.exp2(scores - m_new[:, None])
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=DOT_PRECISION)
    return acc, m_new, l_i
# --8<-- [end:tiles]


def _check_cache(k_cache: torch.Tensor, v_cache: torch.Tensor) -> None:
    if k_cache.shape != v_cache.shape or k_cache.ndim != 4:
        raise ValueError("caches are [num_blocks, block_size, num_kv_heads, head_dim]")
    if k_cache.stride() != v_cache.stride() or k_cache.stride(-1) != 1:
        raise ValueError("k_cache and v_cache need the same strides and a contiguous last "
                         "dimension")


def _dot_precision(dtype: torch.dtype) -> str:
    """fp32 dots exactly (``ieee``): the GPU default, tf32, keeps only 10 mantissa bits."""
    return "ieee" if dtype == torch.float32 else "tf32"


def _block_d(head_dim: int) -> int:
    return max(_MIN_DOT, triton.next_power_of_2(head_dim))


# --------------------------------------------------------------------------- decode


# --8<-- [start:decode_kernel]
# Arguments that change from step to step are not specialised on (Triton otherwise compiles a
# variant per value class: == 1, divisible by 16, other): the split count, the block table's
# width and the strides of the split outputs, which depend on the split count.
@triton.jit(do_not_specialize=["stride_bt", "stride_os", "stride_oh", "stride_osplit",
                               "stride_ls", "stride_lh", "num_splits"])
def _paged_decode_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_tables_ptr, seq_lens_ptr, out_ptr, lse_ptr,
    scale_log2,
    stride_qs, stride_qh,
    stride_cb, stride_co, stride_ch,
    stride_bt,
    stride_os, stride_oh, stride_osplit,
    stride_ls, stride_lh, num_splits,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_SIZE: tl.constexpr,
    BLOCK_H: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr,
    MULTI_SPLIT: tl.constexpr, DOT_PRECISION: tl.constexpr,
):
    """Program (seq, kv head, split): the ``GROUP`` query heads that share one KV head, against
    one contiguous split of the sequence's context.

    With one split the program writes the normalised output; with several it writes its split's
    normalised output and log-sum-exp (base 2) for ``_merge_splits_kernel``. The split count
    and the arguments that follow it are not specialised on: one compiled kernel serves every
    step, where a compile-time count made a run compile a new kernel each time the batch shrank
    to a new count (about a second each).
    """
    seq = tl.program_id(0)
    kv_head = tl.program_id(1)
    split = tl.program_id(2)
    seq_len = tl.load(seq_lens_ptr + seq)
    split_len = ((seq_len + num_splits - 1) // num_splits + BLOCK_N - 1) // BLOCK_N * BLOCK_N
    start = split * split_len
    end = tl.minimum(start + split_len, seq_len)

    rows = tl.arange(0, BLOCK_H)                      # query heads of the group, padded
    dims = tl.arange(0, BLOCK_D)
    row_mask = rows < GROUP
    dim_mask = dims < HEAD_DIM
    heads = kv_head * GROUP + rows
    q = tl.load(q_ptr + seq * stride_qs + heads[:, None] * stride_qh + dims[None, :],
                mask=row_mask[:, None] & dim_mask[None, :], other=0.0)

    m_i = tl.full([BLOCK_H], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_H], tl.float32)
    acc = tl.zeros([BLOCK_H, BLOCK_D], tl.float32)
    table_row = block_tables_ptr + seq * stride_bt
    for tile_start in range(start, end, BLOCK_N):
        positions = tile_start + tl.arange(0, BLOCK_N)
        valid = positions < end
        k, v = _load_kv_tile(k_cache_ptr, v_cache_ptr, table_row, positions, valid, kv_head,
                             dims, dim_mask, stride_cb, stride_co, stride_ch, BLOCK_SIZE, q.dtype)
        scores = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * scale_log2
        scores = tl.where(valid[None, :], scores, float("-inf"))
        acc, m_i, l_i = _online_softmax_step(acc, m_i, l_i, scores, v, DOT_PRECISION)

    nonempty = l_i > 0                                # a split past the end of a short context
    l_safe = tl.where(nonempty, l_i, 1.0)
    out = acc / l_safe[:, None]
    out_ptrs = out_ptr + seq * stride_os + heads[:, None] * stride_oh + split * stride_osplit
    tl.store(out_ptrs + dims[None, :], out.to(out_ptr.dtype.element_ty),
             mask=row_mask[:, None] & dim_mask[None, :])
    if MULTI_SPLIT:
        lse = tl.where(nonempty, m_i + tl.log2(l_safe), float("-inf"))
        tl.store(lse_ptr + seq * stride_ls + heads * stride_lh + split, lse, mask=row_mask)
# --8<-- [end:decode_kernel]


# --8<-- [start:merge]
@triton.jit(do_not_specialize=["stride_ps", "stride_ph", "stride_ls", "stride_lh", "num_splits"])
def _merge_splits_kernel(
    partial_ptr, lse_ptr, out_ptr,
    stride_ps, stride_ph, stride_psplit, stride_ls, stride_lh, stride_os, stride_oh,
    num_splits, HEAD_DIM: tl.constexpr,
    BLOCK_SPLITS: tl.constexpr, BLOCK_D: tl.constexpr,
):
    """Program (seq, head): ``out = sum_i w_i * out_i / sum_i w_i`` with ``w_i = 2^(lse_i - max)``,
    i.e. each split's output weighted by its share of the softmax denominator."""
    seq = tl.program_id(0)
    head = tl.program_id(1)
    splits = tl.arange(0, BLOCK_SPLITS)
    dims = tl.arange(0, BLOCK_D)
    split_mask = splits < num_splits
    lse = tl.load(lse_ptr + seq * stride_ls + head * stride_lh + splits, mask=split_mask,
                  other=float("-inf"))
    # Split 0 is empty only for a row without context (a CUDA graph's padding, M6): every
    # weight is then 0 and the row's output 0, where -inf - -inf would make it NaN.
    top = tl.max(lse, 0)
    weights = tl.exp2(lse - tl.where(top == float("-inf"), 0.0, top))
    partial = tl.load(partial_ptr + seq * stride_ps + head * stride_ph
                      + splits[:, None] * stride_psplit + dims[None, :],
                      mask=split_mask[:, None] & (dims[None, :] < HEAD_DIM), other=0.0)
    total = tl.sum(weights, 0)
    out = tl.sum(weights[:, None] * partial, 0) / tl.where(total > 0, total, 1.0)
    tl.store(out_ptr + seq * stride_os + head * stride_oh + dims, out.to(out_ptr.dtype.element_ty),
             mask=dims < HEAD_DIM)
# --8<-- [end:merge]


# --8<-- [start:num_splits]
def choose_num_splits(num_seqs: int, num_kv_heads: int, max_seq_len: int, num_sms: int) -> int:
    """How many pieces to cut each context into so that the GPU has enough programs.

    Decode reads every cached K/V byte once and does a few FLOPs per byte (a GPU needs hundreds
    to be bound by arithmetic): it is bound by memory bandwidth, and one program streams its
    context serially. With ``S * Hk`` programs below about two per multiprocessor, most of the
    GPU's load units sit idle (few long sequences); cutting each context into splits that run in
    parallel, then merging them, fills it: as many splits as keep the programs at most four per
    SM. On an H200 (132 SMs, two decode programs resident per SM) that picked the fastest split
    count measured for 1 x 32k, 4 x 16k, 16 x 4k and 32 x 2k contexts; going over four per SM
    leaves a partial last wave (5 splits of 16 x 4k ran 20% slower than 4). A batch that fills the
    GPU already gets 1: splitting would only add the merge's traffic.
    """
    programs = max(num_seqs * num_kv_heads, 1)
    if programs >= 2 * num_sms:
        return 1
    return max(1, min(4 * num_sms // programs, triton.cdiv(max_seq_len, _MIN_SPLIT_TOKENS)))
# --8<-- [end:num_splits]


def merge_width(num_splits: int) -> int:
    """Splits one merge program reads at once: a power of two, at least 16, so that a handful of
    compiled merge kernels (16, 32, 64, ...) serve every split count."""
    return max(16, triton.next_power_of_2(num_splits))


def warm_up(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
            block_tables: torch.Tensor, seq_lens: torch.Tensor, max_model_len: int,
            scale: float) -> None:
    """Compile, before the first request, every decode kernel variant a run can launch: one
    split, and one merge per width up to the most splits ``choose_num_splits`` can pick (for one
    sequence of ``max_model_len``). Triton compiles a variant the first time it is launched;
    left to the run, that is seconds of the first requests' time."""
    most = choose_num_splits(1, k_cache.shape[2], max_model_len, _num_sms(q.device))
    widths = (2, 32, 64, 128, 256, 512, 1024)
    splits = {1, *(min(w, most) for w in widths if w <= merge_width(most))}
    for num_splits in sorted(splits):
        paged_decode(q, k_cache, v_cache, block_tables, seq_lens, int(seq_lens.max()), scale,
                     num_splits=num_splits)


@functools.cache
def _num_sms(device: torch.device) -> int:
    """Multiprocessors of ``device``, asked once: a property query on every layer of every step
    would be host time for a number that never changes."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).multi_processor_count
    return 1  # the Triton interpreter on CPU runs one program at a time


def paged_decode(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                 block_tables: torch.Tensor, seq_lens: torch.Tensor, max_seq_len: int,
                 scale: float, num_splits: int | None = None,
                 config: KernelConfig = DECODE_CONFIG) -> torch.Tensor:
    """Attention of one query per sequence ``q`` ``[S, H, D]`` against its ``seq_lens[s]`` cached
    tokens; ``block_tables`` ``[S, B]`` int32. Returns ``[S, H, D]`` in ``q``'s dtype.

    The query heads that share a KV head are packed into one tile of at least 16 rows (padding
    masked): each K/V byte is then read once per group instead of once per query head, and the
    scores are one ``tl.dot`` on the tensor cores. ``num_splits`` (default: ``choose_num_splits``
    from ``max_seq_len``) cuts each context into parallel pieces merged by log-sum-exp.
    """
    _check_cache(k_cache, v_cache)
    num_seqs, num_heads, head_dim = q.shape
    num_kv_heads = k_cache.shape[2]
    group = num_heads // num_kv_heads
    if group * num_kv_heads != num_heads or q.stride(-1) != 1:
        raise ValueError("num_heads must be a multiple of num_kv_heads and q's last dimension "
                         "contiguous")
    out = torch.empty_like(q)
    if num_seqs == 0:
        return out
    if num_splits is None:
        num_splits = choose_num_splits(num_seqs, num_kv_heads, max_seq_len, _num_sms(q.device))
    if num_splits == 1:
        partial, lse = out.unsqueeze(2), out  # the kernel writes the output itself; no lse
    else:
        partial = q.new_empty((num_seqs, num_heads, num_splits, head_dim), dtype=torch.float32)
        lse = q.new_empty((num_seqs, num_heads, num_splits), dtype=torch.float32)
    block_d = _block_d(head_dim)
    _paged_decode_kernel[(num_seqs, num_kv_heads, num_splits)](
        q, k_cache, v_cache, block_tables, seq_lens, partial, lse, scale * _LOG2E,
        q.stride(0), q.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_tables.stride(0),
        partial.stride(0), partial.stride(1), partial.stride(2),
        lse.stride(0), lse.stride(1), num_splits,
        GROUP=group, HEAD_DIM=head_dim, BLOCK_SIZE=k_cache.shape[1],
        BLOCK_H=max(_MIN_DOT, triton.next_power_of_2(group)), BLOCK_D=block_d,
        BLOCK_N=config.block_n, MULTI_SPLIT=num_splits > 1, DOT_PRECISION=_dot_precision(q.dtype),
        num_warps=config.num_warps, num_stages=config.num_stages,
    )
    if num_splits > 1:
        _merge_splits_kernel[(num_seqs, num_heads)](
            partial, lse, out,
            partial.stride(0), partial.stride(1), partial.stride(2),
            lse.stride(0), lse.stride(1), out.stride(0), out.stride(1), num_splits,
            HEAD_DIM=head_dim, BLOCK_SPLITS=merge_width(num_splits), BLOCK_D=block_d, num_warps=1,
        )
    return out


# --------------------------------------------------------------------------- prefill


# --8<-- [start:prefill_kernel]
@triton.jit(do_not_specialize=["stride_bt"])  # the block table's width changes every step
def _paged_prefill_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_tables_ptr, seq_lens_ptr, query_start_loc_ptr, out_ptr,
    scale_log2,
    stride_qt, stride_qh,
    stride_cb, stride_co, stride_ch,
    stride_bt,
    stride_ot, stride_oh,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, BLOCK_SIZE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr,
    DOT_PRECISION: tl.constexpr,
):
    """Program (query tile, seq, head): ``BLOCK_M`` of the sequence's queries against the keys
    at positions up to the tile's last query, in tiles of ``BLOCK_N`` read from the paged cache."""
    tile = tl.program_id(0)
    seq = tl.program_id(1)
    head = tl.program_id(2)
    q_start = tl.load(query_start_loc_ptr + seq)
    q_len = tl.load(query_start_loc_ptr + seq + 1) - q_start
    if tile * BLOCK_M >= q_len:
        return
    seq_len = tl.load(seq_lens_ptr + seq)
    rows = tile * BLOCK_M + tl.arange(0, BLOCK_M)     # query index within the sequence
    row_mask = rows < q_len
    q_pos = seq_len - q_len + rows                    # the queries are the context's last q_len
    dims = tl.arange(0, BLOCK_D)
    dim_mask = dims < HEAD_DIM
    io_mask = row_mask[:, None] & dim_mask[None, :]
    q = tl.load(q_ptr + (q_start + rows)[:, None] * stride_qt + head * stride_qh + dims[None, :],
                mask=io_mask, other=0.0)

    kv_head = head // GROUP
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], tl.float32)
    table_row = block_tables_ptr + seq * stride_bt
    kv_end = tl.minimum(seq_len, seq_len - q_len + (tile + 1) * BLOCK_M)  # causal: later keys unseen
    for tile_start in range(0, kv_end, BLOCK_N):
        positions = tile_start + tl.arange(0, BLOCK_N)
        valid = positions < kv_end
        k, v = _load_kv_tile(k_cache_ptr, v_cache_ptr, table_row, positions, valid, kv_head,
                             dims, dim_mask, stride_cb, stride_co, stride_ch, BLOCK_SIZE, q.dtype)
        scores = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * scale_log2
        causal = (positions[None, :] <= q_pos[:, None]) & valid[None, :]
        scores = tl.where(causal, scores, float("-inf"))
        acc, m_i, l_i = _online_softmax_step(acc, m_i, l_i, scores, v, DOT_PRECISION)

    out = acc / l_i[:, None]                          # every row saw key 0: l_i > 0
    tl.store(out_ptr + (q_start + rows)[:, None] * stride_ot + head * stride_oh + dims[None, :],
             out.to(out_ptr.dtype.element_ty), mask=io_mask)
# --8<-- [end:prefill_kernel]


def paged_prefill(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                  block_tables: torch.Tensor, seq_lens: torch.Tensor,
                  query_start_loc: torch.Tensor, max_query_len: int, scale: float,
                  config: KernelConfig | None = None) -> torch.Tensor:
    """Causal attention of the flat batch ``q`` ``[T, H, D]`` against the paged cache.

    Sequence ``s`` owns queries ``query_start_loc[s]:query_start_loc[s+1]``, the last ``q_len`` of
    its ``seq_lens[s]`` context; its keys are all read from the cache through ``block_tables[s]``,
    so a prefix cached by an earlier step is attended exactly like the step's own tokens.
    Prefill does ``q_len`` times more arithmetic per K/V byte than decode and is bound by the
    tensor cores, so one program per (query tile, query head) is simplest: its KV head's tiles are
    re-read by each of the ``H / Hk`` query heads, mostly from L2.
    """
    _check_cache(k_cache, v_cache)
    num_tokens, num_heads, head_dim = q.shape
    num_kv_heads = k_cache.shape[2]
    if num_heads % num_kv_heads or q.stride(-1) != 1:
        raise ValueError("num_heads must be a multiple of num_kv_heads and q's last dimension "
                         "contiguous")
    if config is None:  # fp32 tiles take twice the shared memory: halve them
        config = PREFILL_CONFIG_FP32 if q.element_size() == 4 else PREFILL_CONFIG
    out = torch.empty_like(q)
    num_seqs = query_start_loc.shape[0] - 1
    if num_tokens == 0 or num_seqs == 0:
        return out
    grid = (triton.cdiv(max_query_len, config.block_m), num_seqs, num_heads)
    _paged_prefill_kernel[grid](
        q, k_cache, v_cache, block_tables, seq_lens, query_start_loc, out, scale * _LOG2E,
        q.stride(0), q.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        block_tables.stride(0),
        out.stride(0), out.stride(1),
        GROUP=num_heads // num_kv_heads, HEAD_DIM=head_dim, BLOCK_SIZE=k_cache.shape[1],
        BLOCK_M=config.block_m, BLOCK_D=_block_d(head_dim), BLOCK_N=config.block_n,
        DOT_PRECISION=_dot_precision(q.dtype),
        num_warps=config.num_warps, num_stages=config.num_stages,
    )
    return out


# --------------------------------------------------------------------------- backend interface


def write_kv(k_cache: torch.Tensor, v_cache: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
             md: AttentionMetadata) -> None:
    """Store the step's new K/V ``[T, Hk, D]`` at ``md.slot_mapping`` (slots < 0 skipped)."""
    store_kvcache(k_cache, v_cache, k, v, md.slot_mapping)


def prefill_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, k_cache: torch.Tensor,
                      v_cache: torch.Tensor, md: AttentionMetadata, scale: float) -> torch.Tensor:
    """Causal prefill attention ``[T, H, D]``. ``k`` and ``v`` are not read: ``write_kv`` has put
    them in the cache, and reading every key from there handles a cached prefix for free."""
    return paged_prefill(q, k_cache, v_cache, md.block_tables, md.seq_lens, md.query_start_loc,
                         md.max_query_len, scale)


def decode_attention(q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                     md: AttentionMetadata, scale: float) -> torch.Tensor:
    """Decode attention ``[S, H, D]``: each sequence's one query against its cached context."""
    return paged_decode(q, k_cache, v_cache, md.block_tables, md.seq_lens, md.max_seq_len, scale)

