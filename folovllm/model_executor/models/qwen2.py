"""Qwen2: the Llama decoder with a bias on the Q, K and V projections."""

from __future__ import annotations

from folovllm.model_executor.models.llama import LlamaForCausalLM


class Qwen2ForCausalLM(LlamaForCausalLM):
    QKV_BIAS = True
