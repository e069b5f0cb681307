"""Rotary embeddings: scores depend on distance only; one table for all."""

import torch

from folovllm.model_executor.layers.rotary_embedding import (
    RotaryEmbedding,
    default_inv_freq,
    llama3_inv_freq,
)

torch.manual_seed(0)
rope = RotaryEmbedding(head_dim=8, max_position=32,
                       params={"rope_type": "default", "rope_theta": 10000.0})
q1, k1 = torch.randn(1, 1, 8), torch.randn(1, 1, 8)  # one token, one head


def score(q_pos: int, k_pos: int) -> float:
    rq, _ = rope(torch.tensor([q_pos]), q1, k1)
    _, rk = rope(torch.tensor([k_pos]), q1, k1)
    return round((rq * rk).sum().item(), 4)


print("score(7, 4) =", score(7, 4), " score(3, 0) =", score(3, 0))
flat_positions = torch.tensor([0, 1, 2, 3, 0, 1, 0, 1, 2])  # A, B, C
cos = rope.cos[flat_positions]  # one row per token, looked up by position
print("cos rows:", tuple(cos.shape), " rows 0, 4, 6 equal:",
      torch.equal(cos[4], cos[0]) and torch.equal(cos[6], cos[0]))

# Llama 3.1: which of the 64 frequencies of a 128-dim head scaling changes.
llama31 = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
           "original_max_position_embeddings": 8192}
default = default_inv_freq(128, 500000.0)
ratio = default / llama3_inv_freq(128, 500000.0, llama31)
kept = int((ratio == 1).sum())
divided = int(torch.isclose(ratio, torch.tensor(8.0)).sum())
print(f"llama3 scaling: {kept} kept, {divided} divided by 8, "
      f"{64 - kept - divided} blended")
