"""The Triton paged-attention kernels on CPU, through Triton's interpreter, against float64.

``triton.jit`` chooses between the interpreter and the compiler when it *decorates* a function,
from ``TRITON_INTERPRET`` (read through ``triton.knobs`` at that moment; a launch does not look
again). That includes Triton's own library (``tl.zeros``, ``tl.max``, ``tl.sum`` are jit functions
decorated when ``triton`` is first imported), so the choice is made once per process, before the
first ``import triton``; any earlier import (the engine's, another test's) would fix it to
compiled. So the kernel tests run in a child process started with ``TRITON_INTERPRET=1``
(``test_kernels_under_the_interpreter``, a few seconds); in this process they are skipped, and
nothing here ever sets the variable. ``TRITON_INTERPRET=1 pytest tests/m3/test_triton_kernels.py``
runs them directly.

The reference gathers each sequence's context out of the paged cache, widens it to float64 and
applies a plain masked softmax. Tolerances: with fp32 queries the kernels accumulate in fp32, so
they agree with float64 to fp32 rounding of sums over a few hundred terms (``1e-5``); with 16-bit
queries the probabilities are rounded to 16 bits (8 mantissa bits in bf16, 11 in fp16) before the
``P @ V`` product, so ``2e-2``. The ``*_can_fail`` tests show that a wrong block table, scale or
prefix misses these tolerances by orders of magnitude.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import torch
import torch.nn.functional as F

from benchmarks.kernels import decode_bytes
from folovllm.attention.metadata import AttentionMetadata

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
REPO = Path(__file__).resolve().parents[2]
FP32_TOL = 1e-5
HALF_TOL = 2e-2
SCALE = 0.3


@pytest.mark.skipif(INTERPRETED, reason="needs a process without TRITON_INTERPRET=1 (it starts one with it)")
@pytest.mark.skipif(torch.cuda.is_available(),
                    reason="needs a machine without a GPU (on a GPU, tests/gpu/test_m3_kernels_gpu.py "
                           "tests the compiled kernels)")
def test_kernels_under_the_interpreter() -> None:
    """Run every kernel test of this file in a child process with the interpreter on.

    Triton is a dev dependency, so a missing one fails here rather than skipping."""
    import triton  # noqa: F401
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest", __file__,
         "-k", "not test_kernels_under_the_interpreter"],             # no shared fixtures needed
        cwd=REPO, env={**os.environ, "TRITON_INTERPRET": "1"}, capture_output=True, text=True,
        timeout=600)
    report = child.stdout[-6000:] + child.stderr[-2000:]
    assert child.returncode == 0, report
    assert "skipped" not in child.stdout.splitlines()[-1], report


@pytest.fixture(scope="module")
def ta() -> ModuleType:
    """The backend module, its kernels interpreted (only in the child process)."""
    if not INTERPRETED:
        pytest.skip("needs TRITON_INTERPRET=1 (test_kernels_under_the_interpreter sets it)")
    pytest.importorskip("triton")
    import folovllm.attention.backends.triton_attn as triton_attn

    return triton_attn


# --------------------------------------------------------------------------- paged batches


@dataclass
class PagedBatch:
    """Random caches with each sequence's context in randomly chosen, non-contiguous blocks."""

    k_cache: torch.Tensor
    v_cache: torch.Tensor
    block_tables: torch.Tensor   # [S, B] int32, unused entries 0
    seq_lens: list[int]

    @property
    def block_size(self) -> int:
        return self.k_cache.shape[1]

    def seq_lens_tensor(self) -> torch.Tensor:
        return torch.tensor(self.seq_lens, dtype=torch.int32, device=self.k_cache.device)

    def slots(self, seq: int, positions: torch.Tensor) -> torch.Tensor:
        """Cache slot of each position of a sequence."""
        blocks = self.block_tables[seq, positions // self.block_size].long()
        return blocks * self.block_size + positions % self.block_size

    def context(self, cache: torch.Tensor, seq: int) -> torch.Tensor:
        """``[seq_len, Hk, D]`` float64: the sequence's cached tokens, gathered in order."""
        positions = torch.arange(self.seq_lens[seq], device=cache.device)
        return cache.flatten(0, 1)[self.slots(seq, positions)].double()


def make_batch(seq_lens: list[int], block_size: int, num_kv_heads: int, head_dim: int,
               dtype: torch.dtype = torch.float32, device: str = "cpu", seed: int = 0,
               spare_blocks: int = 3) -> PagedBatch:
    """Blocks are a random permutation of all ids (some spare, so a wrong id reads real data)."""
    gen = torch.Generator().manual_seed(seed)
    per_seq = [-(-n // block_size) for n in seq_lens]
    num_blocks = sum(per_seq) + spare_blocks
    ids = torch.randperm(num_blocks, generator=gen).to(torch.int32)
    tables = torch.zeros(len(seq_lens), max(per_seq), dtype=torch.int32)
    start = 0
    for s, n in enumerate(per_seq):
        tables[s, :n] = ids[start:start + n]
        start += n
    shape = (num_blocks, block_size, num_kv_heads, head_dim)
    k_cache = torch.randn(shape, generator=gen).to(dtype).to(device)
    v_cache = torch.randn(shape, generator=gen).to(dtype).to(device)
    return PagedBatch(k_cache, v_cache, tables.to(device), list(seq_lens))


def spare_block(batch: PagedBatch) -> int:
    used = set(batch.block_tables.flatten().tolist())
    return next(b for b in range(batch.k_cache.shape[0]) if b not in used)


def ref_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_positions: torch.Tensor,
                  scale: float) -> torch.Tensor:
    """q ``[n, H, D]`` at ``q_positions`` against k, v ``[L, Hk, D]``, causal; float64."""
    group = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
    scores = torch.einsum("nhd,lhd->hnl", q.double(), k) * scale
    future = torch.arange(k.shape[0], device=q.device)[None, :] > q_positions[:, None]
    probs = scores.masked_fill(future[None], float("-inf")).softmax(-1)
    return torch.einsum("hnl,lhd->nhd", probs, v)


def ref_decode(batch: PagedBatch, q: torch.Tensor, scale: float) -> torch.Tensor:
    outs = []
    for s, n in enumerate(batch.seq_lens):
        pos = torch.tensor([n - 1], device=q.device)
        outs.append(ref_attention(q[s:s + 1], batch.context(batch.k_cache, s),
                                  batch.context(batch.v_cache, s), pos, scale))
    return torch.cat(outs)


def ref_prefill(batch: PagedBatch, q: torch.Tensor, q_lens: list[int], scale: float) -> torch.Tensor:
    outs, start = [], 0
    for s, (n, q_len) in enumerate(zip(batch.seq_lens, q_lens)):
        pos = torch.arange(n - q_len, n, device=q.device)
        outs.append(ref_attention(q[start:start + q_len], batch.context(batch.k_cache, s),
                                  batch.context(batch.v_cache, s), pos, scale))
        start += q_len
    return torch.cat(outs)


def query_start_loc(q_lens: list[int], device: str = "cpu") -> torch.Tensor:
    return torch.tensor([0] + q_lens, device=device).cumsum(0).to(torch.int32)


def max_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    return (out.double() - ref).abs().max().item()


# Block sizes: one token per block (every key its own lookup), the engine's 16, and one block
# bigger than any context (all in one partial block); GQA (2 query heads per KV head) and not.
# Lengths: 1, partial and full blocks.
SEQ_LENS = [1, 17, 64, 45]
LAYOUTS = [pytest.param(bs, h, hk, id=f"bs{bs}-H{h}-Hk{hk}")
           for bs, h, hk in ((1, 4, 2), (16, 4, 2), (16, 4, 4), (256, 4, 2))]


# --------------------------------------------------------------------------- store


@pytest.mark.parametrize("cache_dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("block_size", [1, 16, 256])
def test_store_writes_slots_and_skips_negative(ta, block_size: int, cache_dtype: torch.dtype) -> None:
    """Values already representable in bf16: the interpreter rounds fp32 -> bf16 toward zero,
    the GPU to nearest even (the GPU test checks that), so any rounding gives the same bits."""
    batch = make_batch([40], block_size, num_kv_heads=2, head_dim=32, dtype=cache_dtype)
    wide = torch.randn(6, 3, 2, 32).bfloat16().float()
    k, v = wide[:, 0], wide[:, 1]                     # strided views, as a fused qkv gives
    slots = batch.slots(0, torch.tensor([0, 5, 39, 2, 7, 20]))
    slots[[1, 4]] = -1
    expect_k, expect_v = batch.k_cache.clone().flatten(0, 1), batch.v_cache.clone().flatten(0, 1)
    keep = slots >= 0
    expect_k[slots[keep]] = k[keep].to(cache_dtype)
    expect_v[slots[keep]] = v[keep].to(cache_dtype)
    ta.store_kvcache(batch.k_cache, batch.v_cache, k, v, slots)
    assert torch.equal(batch.k_cache.flatten(0, 1), expect_k)
    assert torch.equal(batch.v_cache.flatten(0, 1), expect_v)


# --------------------------------------------------------------------------- decode


@pytest.mark.parametrize("num_splits", [1, 3])
@pytest.mark.parametrize("block_size, num_heads, num_kv_heads", LAYOUTS)
def test_decode_matches_reference(ta, block_size: int, num_heads: int, num_kv_heads: int,
                                  num_splits: int) -> None:
    batch = make_batch(SEQ_LENS, block_size, num_kv_heads, head_dim=32)
    q = torch.randn(len(SEQ_LENS), num_heads, 32)
    out = ta.paged_decode(q, batch.k_cache, batch.v_cache, batch.block_tables,
                          batch.seq_lens_tensor(), max(SEQ_LENS), SCALE, num_splits=num_splits,
                          config=ta.KernelConfig(block_n=16))
    assert out.dtype == q.dtype and out.shape == q.shape
    assert max_err(out, ref_decode(batch, q, SCALE)) < FP32_TOL


def test_decode_splits_longer_than_some_contexts(ta) -> None:
    """8 splits of a 300-token context: most of the short sequences' splits are empty."""
    batch = make_batch([300, 2, 20], 16, 2, 32, seed=1)
    q = torch.randn(3, 4, 32)
    out = ta.paged_decode(q, batch.k_cache, batch.v_cache, batch.block_tables,
                          batch.seq_lens_tensor(), 300, SCALE, num_splits=8,
                          config=ta.KernelConfig(block_n=16))
    assert max_err(out, ref_decode(batch, q, SCALE)) < FP32_TOL


def test_decode_bf16_cache_fp32_queries(ta) -> None:
    """The reference reads the same bf16 values, so only fp32 rounding separates the two."""
    batch = make_batch(SEQ_LENS, 16, 2, 32, dtype=torch.bfloat16)
    q = torch.randn(len(SEQ_LENS), 4, 32)
    out = ta.paged_decode(q, batch.k_cache, batch.v_cache, batch.block_tables,
                          batch.seq_lens_tensor(), max(SEQ_LENS), SCALE, num_splits=2)
    assert out.dtype == torch.float32
    assert max_err(out, ref_decode(batch, q, SCALE)) < FP32_TOL


def test_decode_fp16_everywhere(ta) -> None:
    """fp16, not bf16: the interpreter's ``tl.dot`` multiplies bf16 operands' raw bits (numpy has
    no bf16); the GPU tests run bf16."""
    batch = make_batch(SEQ_LENS, 16, 2, 32, dtype=torch.float16)
    q = torch.randn(len(SEQ_LENS), 4, 32).half()
    out = ta.paged_decode(q, batch.k_cache, batch.v_cache, batch.block_tables,
                          batch.seq_lens_tensor(), max(SEQ_LENS), SCALE)
    assert out.dtype == torch.float16
    assert max_err(out, ref_decode(batch, q, SCALE)) < HALF_TOL


def test_decode_can_fail(ta) -> None:
    """A wrong block table or scale is caught: the tolerance is far below what they change."""
    batch = make_batch(SEQ_LENS, 16, 2, 32)
    q = torch.randn(len(SEQ_LENS), 4, 32)
    ref = ref_decode(batch, q, SCALE)
    args = (batch.k_cache, batch.v_cache)
    wrong_table = batch.block_tables.clone()         # decode ignores the order of the keys:
    wrong_table[2, 1] = spare_block(batch)           # read a block of no sequence instead
    out = ta.paged_decode(q, *args, wrong_table, batch.seq_lens_tensor(), 64, SCALE)
    assert max_err(out, ref) > 100 * FP32_TOL
    out = ta.paged_decode(q, *args, batch.block_tables, batch.seq_lens_tensor(), 64, SCALE * 1.1)
    assert max_err(out, ref) > 100 * FP32_TOL


# --------------------------------------------------------------------------- prefill


@pytest.mark.parametrize("block_size, num_heads, num_kv_heads", LAYOUTS)
def test_prefill_matches_reference(ta, block_size: int, num_heads: int, num_kv_heads: int) -> None:
    """Whole prompts (one of a single token), and two sequences with a cached prefix."""
    q_lens = [1, 17, 40, 5]                           # seq_lens are [1, 17, 64, 45]
    batch = make_batch(SEQ_LENS, block_size, num_kv_heads, head_dim=32)
    q = torch.randn(sum(q_lens), num_heads, 32)
    out = ta.paged_prefill(q, batch.k_cache, batch.v_cache, batch.block_tables,
                           batch.seq_lens_tensor(), query_start_loc(q_lens), max(q_lens), SCALE,
                           config=ta.KernelConfig(block_n=16, block_m=16))
    assert out.dtype == q.dtype and out.shape == q.shape
    assert max_err(out, ref_prefill(batch, q, q_lens, SCALE)) < FP32_TOL


@pytest.mark.parametrize("q_dtype, cache_dtype, tol", [(torch.float32, torch.bfloat16, FP32_TOL),
                                                       (torch.float16, torch.float16, HALF_TOL)])
def test_prefill_narrow_dtypes_default_tiles(ta, q_dtype: torch.dtype, cache_dtype: torch.dtype,
                                             tol: float) -> None:
    q_lens = [1, 17, 64, 3]
    batch = make_batch(SEQ_LENS, 16, 2, 32, dtype=cache_dtype)
    q = torch.randn(sum(q_lens), 4, 32).to(q_dtype)
    out = ta.paged_prefill(q, batch.k_cache, batch.v_cache, batch.block_tables,
                           batch.seq_lens_tensor(), query_start_loc(q_lens), 64, SCALE)
    assert out.dtype == q_dtype
    assert max_err(out, ref_prefill(batch, q, q_lens, SCALE)) < tol


def test_prefill_can_fail(ta) -> None:
    """A wrong block table, or a cached prefix the kernel ignores, is caught."""
    q_lens = [1, 17, 40, 5]
    batch = make_batch(SEQ_LENS, 16, 2, 32)
    q = torch.randn(sum(q_lens), 4, 32)
    ref = ref_prefill(batch, q, q_lens, SCALE)
    wrong_table = batch.block_tables.clone()
    wrong_table[3, [0, 2]] = wrong_table[3, [2, 0]]
    out = ta.paged_prefill(q, batch.k_cache, batch.v_cache, wrong_table, batch.seq_lens_tensor(),
                           query_start_loc(q_lens), 40, SCALE)
    assert max_err(out, ref) > 100 * FP32_TOL
    no_prefix = torch.tensor(q_lens, dtype=torch.int32)   # as if each context were its queries
    out = ta.paged_prefill(q, batch.k_cache, batch.v_cache, batch.block_tables, no_prefix,
                           query_start_loc(q_lens), 40, SCALE)
    assert max_err(out, ref) > 100 * FP32_TOL


def test_reference_agrees_with_sdpa() -> None:
    """The float64 reference is independent of the kernels: check it against PyTorch's SDPA."""
    q, k, v = torch.randn(7, 4, 16), torch.randn(7, 2, 16), torch.randn(7, 2, 16)
    ours = ref_attention(q, k.double(), v.double(), torch.arange(7), SCALE)
    sdpa = F.scaled_dot_product_attention(q.transpose(0, 1).double(), k.transpose(0, 1).double(),
                                          v.transpose(0, 1).double(), is_causal=True, scale=SCALE,
                                          enable_gqa=True).transpose(0, 1)
    assert torch.allclose(ours, sdpa, atol=1e-12)
    assert not torch.allclose(ours[1:], ours[:-1], atol=1e-3)   # not a constant output


# --------------------------------------------------------------------------- backend interface


def _metadata(batch: PagedBatch, q_lens: list[int]) -> AttentionMetadata:
    positions = torch.cat([torch.arange(n - ql, n) for n, ql in zip(batch.seq_lens, q_lens)])
    seq_ids = torch.repeat_interleave(torch.arange(len(q_lens)), torch.tensor(q_lens))
    blocks = batch.block_tables[seq_ids, positions // batch.block_size].long()
    starts = query_start_loc(q_lens)
    return AttentionMetadata(
        positions=positions,
        slot_mapping=blocks * batch.block_size + positions % batch.block_size,
        seq_lens=batch.seq_lens_tensor(), block_tables=batch.block_tables,
        query_start_loc=starts, query_start_loc_host=starts.tolist(),
        seq_lens_host=list(batch.seq_lens), max_query_len=max(q_lens),
        max_seq_len=max(batch.seq_lens))


def test_backend_prefill_then_decode(ta) -> None:
    """The engine's sequence of calls: store a prompt, attend over it, store one token, decode.

    Sequence 1 has a 16-token prefix already cached from an earlier step (its prompt step only
    carries the last 9 tokens); the empty cache starts at zero and is filled only by write_kv.
    """
    prompt_lens, q_lens = [5, 25, 1], [5, 9, 1]
    full = make_batch([n + 1 for n in prompt_lens], 16, 2, 32)   # tables with room for decode
    k_all = torch.randn(sum(full.seq_lens), 2, 32)
    v_all = torch.randn_like(k_all)
    k_cache, v_cache = torch.zeros_like(full.k_cache), torch.zeros_like(full.v_cache)
    prefix = full.slots(1, torch.arange(16))
    k_cache.flatten(0, 1)[prefix] = k_all[6:22]                  # sequence 1 starts at row 6
    v_cache.flatten(0, 1)[prefix] = v_all[6:22]
    batch = PagedBatch(k_cache, v_cache, full.block_tables, prompt_lens)
    rows = torch.cat([torch.arange(0, 5), torch.arange(22, 31), torch.arange(32, 33)])

    md = _metadata(batch, q_lens)
    q = torch.randn(sum(q_lens), 4, 32)
    ta.write_kv(k_cache, v_cache, k_all[rows], v_all[rows], md)
    out = ta.prefill_attention(q, k_all[rows], v_all[rows], k_cache, v_cache, md, SCALE)
    assert max_err(out, ref_prefill(batch, q, q_lens, SCALE)) < FP32_TOL
    assert torch.equal(batch.context(k_cache, 1).float(), k_all[6:31])

    batch.seq_lens = full.seq_lens
    md = _metadata(batch, [1, 1, 1])
    q = torch.randn(3, 4, 32)
    ta.write_kv(k_cache, v_cache, k_all[[5, 31, 33]], v_all[[5, 31, 33]], md)
    out = ta.decode_attention(q, k_cache, v_cache, md, SCALE)
    assert max_err(out, ref_decode(batch, q, SCALE)) < FP32_TOL


# --------------------------------------------------------------------------- heuristics and bytes


def test_num_splits_fill_the_gpu_only_when_needed(ta) -> None:
    assert ta.choose_num_splits(256, 8, 1024, num_sms=132) == 1     # big batch: already full
    assert ta.choose_num_splits(64, 8, 2048, num_sms=132) == 1      # 512 programs: full
    assert ta.choose_num_splits(32, 8, 2048, num_sms=132) == 2      # 256: at most 4 per SM
    assert ta.choose_num_splits(2, 8, 32768, num_sms=132) == 33     # few long sequences
    assert ta.choose_num_splits(2, 8, 300, num_sms=132) == 2        # no split under 256 tokens
    assert ta.choose_num_splits(1, 8, 1, num_sms=132) == 1


def test_decode_bytes_formula() -> None:
    """K and V of every context dominate; q, out, block tables and lengths are the extras."""
    kv = 256 * 1024 * 8 * 128 * 2 * 2
    extras = 2 * 256 * 16 * 128 * 2 + 256 * 64 * 4 + 256 * 4
    assert decode_bytes(batch=256, context=1024, num_heads=16, num_kv_heads=8, head_dim=128,
                        block_size=16, dtype_bytes=2) == kv + extras
