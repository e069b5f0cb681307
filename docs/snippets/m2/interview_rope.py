"""RoPE: tables computed once, the neox layout, Llama 3.1's scaling."""

import math

import torch

from folovllm.model_executor.layers.rotary_embedding import (
    RotaryEmbedding, default_inv_freq, llama3_inv_freq)

torch.manual_seed(0)
D, max_pos = 16, 512
rope = RotaryEmbedding(D, max_pos, {"rope_type": "default",
                                    "rope_theta": 10000.0})
print("cos table:", tuple(rope.cos.shape), rope.cos.dtype)

# A flat batch of 3 and 2 tokens: positions restart for each sequence.
positions = torch.tensor([0, 1, 2, 0, 1])
q, k = torch.randn(5, 4, D), torch.randn(5, 2, D)  # [T, heads, D]
q_rot, k_rot = rope(positions, q, k)
kept = torch.allclose(q_rot.norm(dim=-1), q.norm(dim=-1))
print("position 0 unchanged:", torch.equal(q_rot[0], q[0]),
      "| norms kept:", kept)


def score(q_pos: int, k_pos: int) -> torch.Tensor:
    qq = rope(torch.tensor([q_pos]), q[:1], k[:1])[0][0, 0]
    kk = rope(torch.tensor([k_pos]), q[:1], k[:1])[1][0, 0]
    return qq @ kk


# A query-key score depends only on the distance between positions.
print(f"score(7, 3) = {score(7, 3):.3f}, score(107, 103) = "
      f"{score(107, 103):.3f}, score(7, 5) = {score(7, 5):.3f}")


def rope_gptj(x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """GPT-J pairs dimension 2i with 2i + 1 (neox: i with i + D/2)."""
    angles = pos[:, None].float() * default_inv_freq(D, 10000.0)[None, :]
    cos, sin = angles.cos()[:, None, :], angles.sin()[:, None, :]
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos),
                       dim=-1).flatten(-2)


gptj = rope_gptj(q, positions)
print("GPT-J layout == neox layout:", torch.allclose(gptj, q_rot, atol=1e-3))
# The same rotation up to a permutation of the head dimensions.
perm = torch.cat((torch.arange(0, D, 2), torch.arange(1, D, 2)))
neox_of_permuted = rope(positions, q[..., perm], k[..., perm])[0]
print("after permuting the dimensions:",
      torch.allclose(neox_of_permuted, gptj[..., perm], atol=1e-5))

# Llama 3.1: long wavelengths / factor, short ones kept, a band between.
llama31 = dict(factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
               original_max_position_embeddings=8192)
base = default_inv_freq(128, 500000.0)
scaled = llama3_inv_freq(128, 500000.0, llama31)
wavelen = 2 * math.pi / base
high, low = wavelen < 8192 / 4, wavelen > 8192 / 1
mid = ~high & ~low
print("frequencies kept:", int(high.sum()), "| divided by 8:", int(low.sum()),
      "| interpolated:", int(mid.sum()))
