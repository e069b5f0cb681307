"""Fused small ops for CUDA: RMSNorm (with the residual add) and rotary embedding, one kernel each.

Why: at decode time the big matrix multiplies are few and fast, while each RMSNorm written in
PyTorch is eight kernels (add, cast, square, mean, add eps, rsqrt, multiply, cast, scale) and
each rotary embedding about fourteen. A 28-layer model then launches well over a thousand
kernels per step, and the host spends longer launching them than the GPU spends running them
(``python -m benchmarks.profile`` shows it). One kernel per op removes most launches.

Both kernels round exactly where the PyTorch code (and ``transformers``) does — after the
residual add, after the normalisation, after each product of the rotation — and keep the
compiler from fusing a multiply and an add into one FMA, so their results match the PyTorch
path to the last bit in float32 (up to the order of the sum in the norm's mean).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl


@triton.jit
def _round(x, dtype: tl.constexpr):
    """Round a float32 value to ``dtype`` and back: what a PyTorch op in ``dtype`` stores."""
    return x.to(dtype).to(tl.float32)


# --8<-- [start:rms_norm]
@triton.jit
def _rms_norm_kernel(x_ptr, res_ptr, w_ptr, out_ptr, res_out_ptr, n_inner, stride_outer,
                     stride_inner, res_stride, eps, N: tl.constexpr, BLOCK: tl.constexpr,
                     HAS_RESIDUAL: tl.constexpr):
    """One row of ``N`` values per program. Rows are addressed as (outer, inner) so that a
    per-head norm can read ``[T, H, D]`` straight out of the fused QKV output."""
    row = tl.program_id(0)
    src = x_ptr + (row // n_inner) * stride_outer + (row % n_inner) * stride_inner
    cols = tl.arange(0, BLOCK)
    mask = cols < N
    dtype = out_ptr.dtype.element_ty
    x = tl.load(src + cols, mask=mask, other=0.0).to(tl.float32)
    if HAS_RESIDUAL:
        r = tl.load(res_ptr + row * res_stride + cols, mask=mask, other=0.0).to(tl.float32)
        x = _round(x + r, dtype)                          # x + residual, stored in dtype
        tl.store(res_out_ptr + row * N + cols, x.to(dtype), mask=mask)
    rstd = 1.0 / tl.sqrt_rn(tl.sum(x * x, axis=0) / N + eps)
    y = _round(x * rstd, dtype)                           # normalised in float32, cast back
    w = tl.load(w_ptr + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + row * N + cols, (w * y).to(dtype), mask=mask)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float,
             residual: torch.Tensor | None = None
             ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """``RMSNorm`` on CUDA in one kernel; ``x`` is ``[T, N]`` or ``[T, H, N]`` (last dim
    contiguous, rows may be strided). With ``residual``: ``(norm(x + residual), x + residual)``."""
    n = x.shape[-1]
    n_inner = x.shape[1] if x.dim() == 3 else 1
    stride_inner = x.stride(1) if x.dim() == 3 else 0
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    res_out = torch.empty_like(out) if residual is not None else out
    rows = x.numel() // n
    _rms_norm_kernel[(rows,)](
        x, residual if residual is not None else x, weight, out, res_out, n_inner, x.stride(0),
        stride_inner, residual.stride(-2) if residual is not None else 0, eps, N=n,
        BLOCK=triton.next_power_of_2(n), HAS_RESIDUAL=residual is not None,
        num_warps=4 if n >= 1024 else 1, enable_fp_fusion=False)
    return out if residual is None else (out, res_out)
# --8<-- [end:rms_norm]


# --8<-- [start:rope]
@triton.jit
def _rope_kernel(q_ptr, k_ptr, cos_ptr, sin_ptr, pos_ptr, q_stride, k_stride,
                 NUM_Q_HEADS: tl.constexpr, NUM_K_HEADS: tl.constexpr, HALF: tl.constexpr,
                 BLOCK_H: tl.constexpr, BLOCK_D: tl.constexpr):
    """One token per program, all its query and key heads, rotated in place:
    ``x1' = x1 cos - x2 sin``, ``x2' = x2 cos + x1 sin`` (the "rotate half" form)."""
    t = tl.program_id(0)
    pos = tl.load(pos_ptr + t)
    d = tl.arange(0, BLOCK_D)
    h = tl.arange(0, BLOCK_H)
    dtype = q_ptr.dtype.element_ty
    cos = _round(tl.load(cos_ptr + pos * 2 * HALF + d, mask=d < HALF, other=0.0), dtype)
    sin = _round(tl.load(sin_ptr + pos * 2 * HALF + d, mask=d < HALF, other=0.0), dtype)
    _rotate(q_ptr, t * q_stride, h, d, cos, sin, NUM_Q_HEADS, HALF, dtype)
    _rotate(k_ptr, t * k_stride, h, d, cos, sin, NUM_K_HEADS, HALF, dtype)


@triton.jit
def _rotate(ptr, offset, h, d, cos, sin, heads: tl.constexpr, HALF: tl.constexpr,
            dtype: tl.constexpr):
    mask = (h[:, None] < heads) & (d[None, :] < HALF)
    x1_ptr = ptr + offset + h[:, None] * (2 * HALF) + d[None, :]
    x1 = tl.load(x1_ptr, mask=mask, other=0.0).to(tl.float32)
    x2 = tl.load(x1_ptr + HALF, mask=mask, other=0.0).to(tl.float32)
    out1 = _round(x1 * cos[None, :], dtype) - _round(x2 * sin[None, :], dtype)
    out2 = _round(x2 * cos[None, :], dtype) + _round(x1 * sin[None, :], dtype)
    tl.store(x1_ptr, out1.to(dtype), mask=mask)
    tl.store(x1_ptr + HALF, out2.to(dtype), mask=mask)

def rope(positions: torch.Tensor, q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor,
         sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rotate ``q [T, H, D]`` and ``k [T, Hk, D]`` in place (each token's heads contiguous)."""
    half = q.shape[-1] // 2
    for x in (q, k):
        if x.stride(2) != 1 or x.stride(1) != 2 * half:
            raise ValueError("rope needs each token's heads contiguous ([T, H, D] rows)")
    _rope_kernel[(q.shape[0],)](
        q, k, cos, sin, positions, q.stride(0), k.stride(0), NUM_Q_HEADS=q.shape[1],
        NUM_K_HEADS=k.shape[1], HALF=half, BLOCK_H=triton.next_power_of_2(max(q.shape[1], k.shape[1])),
        BLOCK_D=triton.next_power_of_2(half), num_warps=4, enable_fp_fusion=False)
    return q, k
# --8<-- [end:rope]
