"""The fused CUDA ops (RMSNorm with residual, rotary embedding) against the PyTorch layers.

On CPU they run under Triton's interpreter, which must be switched on before ``triton`` is first
imported: the parent test starts this file again in a child process with ``TRITON_INTERPRET=1``.
On a GPU, ``tests/gpu/test_m3_kernels_gpu.py`` compares the compiled kernels.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from folovllm.model_executor.layers.layernorm import RMSNorm
from folovllm.model_executor.layers.rotary_embedding import RotaryEmbedding

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
REPO = Path(__file__).resolve().parents[2]
only_interpreted = pytest.mark.skipif(
    not INTERPRETED, reason="needs TRITON_INTERPRET=1 (test_fused_ops_under_the_interpreter sets it)")


@pytest.mark.skipif(INTERPRETED or torch.cuda.is_available(),
                    reason="needs a process without TRITON_INTERPRET=1 and without a GPU (on a GPU "
                           "the compiled kernels are tested)")
def test_fused_ops_under_the_interpreter() -> None:
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--noconftest", __file__,
         "-k", "not under_the_interpreter"], cwd=REPO,
        env={**os.environ, "TRITON_INTERPRET": "1"}, capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stdout[-4000:] + child.stderr[-2000:]
    assert "skipped" not in child.stdout.splitlines()[-1], child.stdout[-2000:]


def _norm(n: int, dtype: torch.dtype) -> RMSNorm:
    norm = RMSNorm(n, 1e-6).to(dtype)
    norm.weight.data = torch.randn(n, generator=torch.Generator().manual_seed(n)).to(dtype)
    return norm


@only_interpreted
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_rms_norm_with_and_without_residual(dtype) -> None:
    import folovllm.model_executor.layers.triton_ops as triton_ops

    gen = torch.Generator().manual_seed(0)
    norm = _norm(48, dtype)          # not a power of two: the masked tail is exercised
    x, r = (torch.randn(5, 48, generator=gen).to(dtype) for _ in range(2))
    out, res = triton_ops.rms_norm(x, norm.weight, norm.eps, r)
    ref, ref_res = norm(x, r)
    assert torch.equal(res, ref_res)                 # the add rounds exactly like PyTorch's
    torch.testing.assert_close(out, ref, atol=2e-6, rtol=2e-6)   # the mean's summation order
    torch.testing.assert_close(triton_ops.rms_norm(x, norm.weight, norm.eps), norm(x),
                               atol=2e-6, rtol=2e-6)


@only_interpreted
def test_per_head_norm_reads_strided_heads_out_of_qkv() -> None:
    import folovllm.model_executor.layers.triton_ops as triton_ops

    qkv = torch.randn(3, 4 * 16 + 2 * 2 * 16, generator=torch.Generator().manual_seed(1))
    q = qkv[:, :64].view(3, 4, 16)                   # rows 96 floats apart, heads 16 apart
    norm = _norm(16, torch.float32)
    torch.testing.assert_close(triton_ops.rms_norm(q, norm.weight, norm.eps), norm(q),
                               atol=2e-6, rtol=2e-6)


@only_interpreted
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_rope_in_place_matches_the_layer(dtype) -> None:
    import folovllm.model_executor.layers.triton_ops as triton_ops

    gen = torch.Generator().manual_seed(2)
    rope = RotaryEmbedding(16, 64, {"rope_type": "default", "rope_theta": 10000.0})
    qkv = torch.randn(5, 4 * 16 + 2 * 2 * 16, generator=gen).to(dtype)
    q, k = qkv[:, :64].view(5, 4, 16), qkv[:, 64:96].view(5, 2, 16)
    v_before = qkv[:, 96:].clone()
    pos = torch.tensor([0, 3, 7, 9, 63])
    ref_q, ref_k = rope(pos, q.clone(), k.clone())
    out_q, out_k = triton_ops.rope(pos, q, k, rope.cos, rope.sin)
    assert out_q.data_ptr() == q.data_ptr()          # rotated in place
    assert torch.equal(out_q, ref_q) and torch.equal(out_k, ref_k)
    assert torch.equal(qkv[:, 96:], v_before)        # V, next to them in memory, untouched
    with pytest.raises(ValueError, match="heads contiguous"):
        triton_ops.rope(pos, q.transpose(0, 1), k, rope.cos, rope.sin)
