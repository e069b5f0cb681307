"""Qwen3: the Llama decoder with per-head RMSNorm on queries and keys (and no QKV bias).

The q/k norm keeps attention logits in range without a bias, which is why Qwen3 dropped Qwen2's.
"""

from __future__ import annotations

from typing import Any

from folovllm.model_executor.models.llama import Biases, LlamaForCausalLM


class Qwen3ForCausalLM(LlamaForCausalLM):
    QK_NORM = True
    HAS_SLIDING_WINDOW = True

    @classmethod
    def biases(cls, cfg: Any) -> Biases:
        """``attention_bias`` on Q, K, V and O, as in ``transformers``; never on the MLP."""
        attn = bool(getattr(cfg, "attention_bias", False))
        return Biases(qkv=attn, o=attn, mlp=False)
