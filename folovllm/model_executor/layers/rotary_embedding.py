"""Rotary position embedding (RoPE), with the linear and llama3 frequency scalings.

RoPE rotates each (x_i, x_{i+d/2}) pair of a query or key by an angle ``position * inv_freq_i``, so
the dot product of a query and a key depends only on their distance. We precompute ``cos`` and
``sin`` for every position up to ``max_position`` once, and index them with the flat ``positions``
tensor: one gather per step, whatever mix of sequences the batch holds.

The "neox" layout (``rotate_half``) is the one Llama, Qwen2 and Qwen3 checkpoints use.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from folovllm.model_executor.layers.layernorm import HAS_TRITON


def default_inv_freq(head_dim: int, theta: float) -> torch.Tensor:
    return 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))


def llama3_inv_freq(head_dim: int, theta: float, params: dict[str, Any]) -> torch.Tensor:
    """Llama 3.1's long-context scaling: low frequencies (long wavelengths) are divided by
    ``factor``, high frequencies are kept, and the band in between is interpolated smoothly."""
    inv_freq = default_inv_freq(head_dim, theta)
    factor = params["factor"]
    low, high = params["low_freq_factor"], params["high_freq_factor"]
    old_len = params["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old_len / low, old_len / high
    wavelen = 2 * math.pi / inv_freq
    scaled = torch.where(wavelen > low_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_len / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    is_medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
    return torch.where(is_medium, smoothed, scaled)


def rope_parameters(hf_config: Any) -> dict[str, Any]:
    """The RoPE settings in one dict, whichever of the two config layouts the checkpoint uses."""
    params = dict(getattr(hf_config, "rope_parameters", None) or {})
    legacy = getattr(hf_config, "rope_scaling", None) or {}
    params = {**legacy, **params}
    params.setdefault("rope_theta", getattr(hf_config, "rope_theta", 10000.0))
    params["rope_type"] = params.get("rope_type") or params.get("type") or "default"
    return params


def inv_freq_for(head_dim: int, params: dict[str, Any]) -> torch.Tensor:
    """The rotation frequencies for ``params``; a scaling this module does not implement is
    refused, naming the value, rather than silently computed as the default.

    ``linear`` divides every frequency by ``factor`` (positions squeezed ``factor`` times).
    ``dynamic`` and ``longrope`` change the frequencies with the sequence length and ``yarn``
    also scales the attention logits: none is implemented here.
    """
    rope_type, theta = params["rope_type"], params["rope_theta"]
    partial = params.get("partial_rotary_factor", 1.0)
    if rope_type != "default" and partial != 1.0:  # the default rope ignores it, as HF's does
        raise ValueError(f"partial_rotary_factor={partial!r} in config.json is not supported "
                         "with a scaled rope: FoloVLLM rotates the whole head")
    if rope_type == "default":
        return default_inv_freq(head_dim, theta)
    if rope_type == "linear":
        return default_inv_freq(head_dim, theta) / params["factor"]
    if rope_type == "llama3":
        return llama3_inv_freq(head_dim, theta, params)
    raise ValueError(f"rope_type={rope_type!r} is not supported (config.json rope_scaling / "
                     f"rope_parameters); supported: {list(RotaryEmbedding.SUPPORTED)}")


# --8<-- [start:rotary]
class RotaryEmbedding(nn.Module):
    SUPPORTED = ("default", "linear", "llama3")

    def __init__(self, head_dim: int, max_position: int, params: dict[str, Any]) -> None:
        super().__init__()
        inv_freq = inv_freq_for(head_dim, params)
        freqs = torch.arange(max_position, dtype=torch.float32)[:, None] * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        # float32 tables: cast once per call to the activations' dtype, as transformers does
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)

    def forward(self, positions: torch.Tensor, q: torch.Tensor, k: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate ``q [T, Hq, D]`` and ``k [T, Hk, D]`` by their tokens' positions ``[T]``.

        On CUDA one Triton kernel rotates both in place, with the same roundings."""
        if q.is_cuda and HAS_TRITON:
            from folovllm.model_executor.layers import triton_ops

            return triton_ops.rope(positions, q, k, self.cos, self.sin)
        cos = self.cos[positions].to(q.dtype).unsqueeze(1)
        sin = self.sin[positions].to(q.dtype).unsqueeze(1)
        return q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)
# --8<-- [end:rotary]
