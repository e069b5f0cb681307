"""M3 on CUDA: the compiled Triton paged-attention kernels at Qwen3-0.6B's shapes.

The same float64 reference as the interpreter tests (``tests/m3/test_triton_kernels.py``), at
realistic sizes: 16 query heads, 8 KV heads, head_dim 128, bf16, block_size 16, 64 sequences with
contexts up to 2048, and a few long sequences that make decode split its contexts.

Tolerances: bf16 outputs are rounded to 8 mantissa bits (|out| <~ 1, so about 4e-3) after the
probabilities were rounded to bf16 for ``P @ V``: ``2e-2``. fp32 queries use exact fp32 dots
(``ieee``): ``1e-4``, ten times below what tf32 dots (10 mantissa bits) would miss by.
"""

from __future__ import annotations

import pytest
import torch

from tests.m3.test_triton_kernels import (
    PagedBatch,
    make_batch,
    max_err,
    query_start_loc,
    ref_decode,
    ref_prefill,
    spare_block,
)

pytestmark = pytest.mark.gpu
triton = pytest.importorskip("triton")

H, HK, D = 16, 8, 128
SCALE = D ** -0.5
BF16_TOL = 2e-2
FP32_TOL = 1e-4


@pytest.fixture(scope="module")
def ta():
    import folovllm.attention.backends.triton_attn as triton_attn

    return triton_attn


def _lens(n: int, longest: int, seed: int) -> list[int]:
    """n context lengths in [1, longest], the extremes included."""
    gen = torch.Generator().manual_seed(seed)
    return [1, longest] + torch.randint(1, longest + 1, (n - 2,), generator=gen).tolist()


def _decode(ta, batch: PagedBatch, q: torch.Tensor, **kwargs) -> torch.Tensor:
    return ta.paged_decode(q, batch.k_cache, batch.v_cache, batch.block_tables,
                           batch.seq_lens_tensor(), max(batch.seq_lens), SCALE, **kwargs)


def test_store_rounds_to_nearest_and_skips_negative_slots(ta) -> None:
    batch = make_batch([4096], 16, HK, D, dtype=torch.bfloat16, device="cuda")
    k, v = torch.randn(2, 4096, HK, D, device="cuda").unbind(0)
    slots = batch.slots(0, torch.randperm(4096, device="cuda"))
    slots[::7] = -1
    expect_k, expect_v = batch.k_cache.clone().flatten(0, 1), batch.v_cache.clone().flatten(0, 1)
    keep = slots >= 0
    expect_k[slots[keep]] = k[keep].bfloat16()
    expect_v[slots[keep]] = v[keep].bfloat16()
    ta.store_kvcache(batch.k_cache, batch.v_cache, k, v, slots)
    assert torch.equal(batch.k_cache.flatten(0, 1), expect_k)
    assert torch.equal(batch.v_cache.flatten(0, 1), expect_v)


@pytest.mark.parametrize("block_size", [1, 16, 256])
def test_decode_batch_64(ta, block_size: int) -> None:
    batch = make_batch(_lens(64, 2048, seed=block_size), block_size, HK, D, torch.bfloat16, "cuda")
    q = torch.randn(64, H, D, device="cuda", dtype=torch.bfloat16)
    ref = ref_decode(batch, q, SCALE)
    assert max_err(_decode(ta, batch, q), ref) < BF16_TOL
    assert max_err(_decode(ta, batch, q, num_splits=5), ref) < BF16_TOL


def test_decode_long_contexts_split(ta) -> None:
    batch = make_batch([16384, 9000, 3], 16, HK, D, torch.bfloat16, "cuda")
    sms = torch.cuda.get_device_properties(0).multi_processor_count
    assert ta.choose_num_splits(3, HK, 16384, sms) > 1
    q = torch.randn(3, H, D, device="cuda", dtype=torch.bfloat16)
    ref = ref_decode(batch, q, SCALE)
    assert max_err(_decode(ta, batch, q), ref) < BF16_TOL
    assert max_err(_decode(ta, batch, q, num_splits=1), ref) < BF16_TOL


def test_decode_fp32_queries_bf16_cache(ta) -> None:
    batch = make_batch(_lens(16, 2048, seed=3), 16, HK, D, torch.bfloat16, "cuda")
    q = torch.randn(16, H, D, device="cuda")
    out = _decode(ta, batch, q)
    assert out.dtype == torch.float32
    assert max_err(out, ref_decode(batch, q, SCALE)) < FP32_TOL


def test_decode_wrong_block_fails(ta) -> None:
    """A wrong block changes the answer. The query is seeded and the wrong block is the first of
    the shortest context that has several (123 tokens here), a large share of its keys: the
    error is then 0.23 to 0.57 for any of five seeds, far above the threshold, where one block
    of a 512-token context moved it by only 0.07 to 0.12, across it, with the query drawn from
    the global random stream."""
    batch = make_batch(_lens(8, 512, seed=4), 16, HK, D, torch.bfloat16, "cuda")
    gen = torch.Generator(device="cuda").manual_seed(0)
    q = torch.randn(8, H, D, device="cuda", generator=gen).to(torch.bfloat16)
    ref = ref_decode(batch, q, SCALE)
    seq = min((i for i, n in enumerate(batch.seq_lens) if n > 16), key=batch.seq_lens.__getitem__)
    batch.block_tables[seq, 0] = spare_block(batch)
    assert max_err(_decode(ta, batch, q), ref) > 5 * BF16_TOL


@pytest.mark.parametrize("dtype, tol", [(torch.bfloat16, BF16_TOL), (torch.float32, FP32_TOL)])
def test_prefill_with_and_without_cached_prefix(ta, dtype: torch.dtype, tol: float) -> None:
    """Eight whole prompts and eight whose first tokens were cached by an earlier step."""
    seq_lens = _lens(16, 2048, seed=5)
    q_lens = seq_lens[:8] + [max(1, n // 3) for n in seq_lens[8:]]
    batch = make_batch(seq_lens, 16, HK, D, torch.bfloat16, "cuda")
    q = torch.randn(sum(q_lens), H, D, device="cuda", dtype=dtype)
    out = ta.paged_prefill(q, batch.k_cache, batch.v_cache, batch.block_tables,
                           batch.seq_lens_tensor(), query_start_loc(q_lens, "cuda"), max(q_lens),
                           SCALE)
    assert out.dtype == dtype
    assert max_err(out, ref_prefill(batch, q, q_lens, SCALE)) < tol


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_norm_and_rope_match_the_pytorch_layers(dtype) -> None:
    """Compiled on the GPU, against the same layers' PyTorch arithmetic run on the CPU."""
    import folovllm.model_executor.layers.triton_ops as triton_ops
    from folovllm.model_executor.layers.layernorm import RMSNorm
    from folovllm.model_executor.layers.rotary_embedding import RotaryEmbedding

    gen = torch.Generator().manual_seed(0)
    tol = dict(atol=2e-6, rtol=2e-6) if dtype == torch.float32 else {}
    norm = RMSNorm(1024, 1e-6).to(dtype)
    norm.weight.data = torch.randn(1024, generator=gen).to(dtype)
    x, r = (torch.randn(300, 1024, generator=gen).to(dtype) for _ in range(2))
    out, res = triton_ops.rms_norm(x.cuda(), norm.weight.cuda(), norm.eps, r.cuda())
    ref, ref_res = norm(x, r)
    assert torch.equal(res.cpu(), ref_res)
    torch.testing.assert_close(out.cpu(), ref, **tol)
    qkv = torch.randn(300, 16 * 128 + 2 * 8 * 128, generator=gen).to(dtype)
    q, k = qkv[:, :2048].view(300, 16, 128), qkv[:, 2048:3072].view(300, 8, 128)
    head_norm = RMSNorm(128, 1e-6).to(dtype)
    torch.testing.assert_close(triton_ops.rms_norm(q.cuda(), head_norm.weight.cuda(), 1e-6).cpu(),
                               head_norm(q), **tol)
    rope = RotaryEmbedding(128, 4096, {"rope_type": "default", "rope_theta": 1e6})
    pos = torch.randint(0, 4096, (300,), generator=gen)
    ref_q, ref_k = rope(pos, q.clone(), k.clone())
    gq, gk = qkv.cuda()[:, :2048].view(300, 16, 128), qkv.cuda()[:, 2048:3072].view(300, 8, 128)
    out_q, out_k = triton_ops.rope(pos.cuda(), gq, gk, rope.cos.cuda(), rope.sin.cuda())
    torch.testing.assert_close(out_q.cpu(), ref_q, **tol)
    torch.testing.assert_close(out_k.cpu(), ref_k, **tol)
