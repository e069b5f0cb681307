"""Qwen2: the Llama decoder with a bias on the Q, K and V projections (never on O or the MLP)."""

from __future__ import annotations

from typing import Any

from folovllm.model_executor.models.llama import Biases, LlamaForCausalLM


class Qwen2ForCausalLM(LlamaForCausalLM):
    HAS_SLIDING_WINDOW = True

    @classmethod
    def biases(cls, cfg: Any) -> Biases:
        """Fixed by the architecture, as in ``transformers``: ``attention_bias`` is not read."""
        return Biases(qkv=True, o=False, mlp=False)
