"""Which model class serves which HF ``architectures`` name."""

from __future__ import annotations

from torch import nn

from folovllm.model_executor.models.llama import LlamaForCausalLM
from folovllm.model_executor.models.qwen2 import Qwen2ForCausalLM
from folovllm.model_executor.models.qwen3 import Qwen3ForCausalLM

MODEL_REGISTRY: dict[str, type[nn.Module]] = {
    "LlamaForCausalLM": LlamaForCausalLM,
    "Qwen2ForCausalLM": Qwen2ForCausalLM,
    "Qwen3ForCausalLM": Qwen3ForCausalLM,
}


def get_model_class(architectures: list[str]) -> type[nn.Module]:
    for arch in architectures:
        if arch in MODEL_REGISTRY:
            return MODEL_REGISTRY[arch]
    raise ValueError(f"architecture {architectures} is not supported; supported: "
                     f"{sorted(MODEL_REGISTRY)}")
