"""Qwen3: the Llama decoder with per-head RMSNorm on queries and keys (and no QKV bias).

The q/k norm keeps attention logits in range without a bias, which is why Qwen3 dropped Qwen2's.
"""

from __future__ import annotations

from folovllm.model_executor.models.llama import LlamaForCausalLM


class Qwen3ForCausalLM(LlamaForCausalLM):
    QK_NORM = True
