"""Llama, written for a flat batch of tokens: the decoder that Qwen2 and Qwen3 also build on.

Differences from ``transformers``' code are all about serving: inputs are 1-D (all scheduled
tokens of all sequences, no batch dimension, no padding), the K/V of each layer go to the engine's
cache through ``Attention``, Q/K/V and gate/up are single stacked matmuls, the residual add is
fused into RMSNorm, and logits are computed only for the rows the sampler needs.

Every projection, the embedding and the LM head are tensor-parallel layers (M7): each rank holds
its slice of the heads, of the MLP and of the vocabulary, and attention runs on the rank's own
heads. Without a process group the slice is everything, and each layer computes exactly what a
dense layer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from folovllm.attention.metadata import AttentionMetadata
from folovllm.config import head_dim_of
from folovllm.model_executor.layers.activation import ActAndMul
from folovllm.model_executor.layers.attention import Attention
from folovllm.model_executor.layers.layernorm import RMSNorm
from folovllm.model_executor.layers.linear import (
    MergedColumnParallelLinear,
    QKVParallelLinear,
    RowParallelLinear,
)
from folovllm.model_executor.layers.rotary_embedding import RotaryEmbedding, rope_parameters
from folovllm.model_executor.layers.vocab_parallel_embedding import (
    ParallelLMHead,
    VocabParallelEmbedding,
)


@dataclass(frozen=True)
class Biases:
    """Which projections carry a bias: each architecture reads this from its config its own way
    (``LlamaForCausalLM.biases``), exactly as its ``transformers`` twin does."""

    qkv: bool
    o: bool
    mlp: bool


class LlamaAttention(nn.Module):
    def __init__(self, cfg: Any, biases: Biases, qk_norm: bool, rotary_emb: RotaryEmbedding) -> None:
        super().__init__()
        num_heads = cfg.num_attention_heads
        self.head_dim = head_dim_of(cfg)
        self.qkv_proj = QKVParallelLinear(
            cfg.hidden_size, self.head_dim, num_heads,
            getattr(cfg, "num_key_value_heads", None) or num_heads, bias=biases.qkv)
        # this rank's heads (all of them without tensor parallelism)
        self.num_heads, self.num_kv_heads = self.qkv_proj.num_heads, self.qkv_proj.num_kv_heads
        self.o_proj = RowParallelLinear(num_heads * self.head_dim, cfg.hidden_size,
                                        bias=biases.o)
        # Qwen3 normalises each head's query and key before the rotation.
        self.q_norm = RMSNorm(self.head_dim, cfg.rms_norm_eps) if qk_norm else None
        self.k_norm = RMSNorm(self.head_dim, cfg.rms_norm_eps) if qk_norm else None
        self.rotary_emb = rotary_emb  # one table shared by every layer
        self.attn = Attention(self.num_heads, self.num_kv_heads, self.head_dim)

    # --8<-- [start:attention_forward]
    def forward(self, positions: torch.Tensor, x: torch.Tensor, md: AttentionMetadata) -> torch.Tensor:
        qkv = self.qkv_proj(x)
        q_size, kv_size = self.qkv_proj.q_size, self.qkv_proj.kv_size
        q, k, v = qkv.split([q_size, kv_size, kv_size], dim=-1)
        q = q.view(-1, self.num_heads, self.head_dim)
        k = k.view(-1, self.num_kv_heads, self.head_dim)
        v = v.view(-1, self.num_kv_heads, self.head_dim)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = self.rotary_emb(positions, q, k)
        return self.o_proj(self.attn(q, k, v, md))
    # --8<-- [end:attention_forward]


class LlamaMLP(nn.Module):
    def __init__(self, cfg: Any, bias: bool) -> None:
        super().__init__()
        self.gate_up_proj = MergedColumnParallelLinear(
            cfg.hidden_size, [cfg.intermediate_size] * 2, bias=bias)
        self.act_fn = ActAndMul(cfg.hidden_act)
        self.down_proj = RowParallelLinear(cfg.intermediate_size, cfg.hidden_size, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act_fn(self.gate_up_proj(x)))


# --8<-- [start:decoder]
class LlamaDecoderLayer(nn.Module):
    def __init__(self, cfg: Any, biases: Biases, qk_norm: bool, rotary_emb: RotaryEmbedding) -> None:
        super().__init__()
        self.self_attn = LlamaAttention(cfg, biases, qk_norm, rotary_emb)
        self.mlp = LlamaMLP(cfg, biases.mlp)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, positions: torch.Tensor, x: torch.Tensor, residual: torch.Tensor | None,
                md: AttentionMetadata) -> tuple[torch.Tensor, torch.Tensor]:
        if residual is None:
            x, residual = self.input_layernorm(x), x
        else:
            x, residual = self.input_layernorm(x, residual)
        x = self.self_attn(positions, x, md)
        x, residual = self.post_attention_layernorm(x, residual)
        return self.mlp(x), residual


class LlamaModel(nn.Module):
    def __init__(self, cfg: Any, biases: Biases, qk_norm: bool) -> None:
        super().__init__()
        self.embed_tokens = VocabParallelEmbedding(cfg.vocab_size, cfg.hidden_size)
        # The cos/sin table (float32, max_position_embeddings rows: 40 MiB for Qwen3-0.6B) is
        # the same for every layer, so it is built once and shared.
        rotary_emb = RotaryEmbedding(head_dim_of(cfg), cfg.max_position_embeddings,
                                     rope_parameters(cfg))
        self.layers = nn.ModuleList(
            LlamaDecoderLayer(cfg, biases, qk_norm, rotary_emb)
            for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor,
                md: AttentionMetadata) -> torch.Tensor:
        x, residual = self.embed_tokens(input_ids), None
        for layer in self.layers:
            x, residual = layer(positions, x, residual, md)
        x, _ = self.norm(x, residual)
        return x
# --8<-- [end:decoder]


class LlamaForCausalLM(nn.Module):
    """The causal LM: decoder + LM head (tied to the embedding when the config says so)."""

    QK_NORM = False
    HAS_SLIDING_WINDOW = False  # Qwen2 and Qwen3 configs can ask for sliding-window layers
    # checkpoint sub-module -> (our stacked module, its weight_loader's shard id)
    PACKED = {
        "q_proj": ("qkv_proj", "q"), "k_proj": ("qkv_proj", "k"), "v_proj": ("qkv_proj", "v"),
        "gate_proj": ("gate_up_proj", 0), "up_proj": ("gate_up_proj", 1),
    }

    def __init__(self, cfg: Any) -> None:
        super().__init__()
        self.check_config(cfg)
        self.config = cfg
        self.model = LlamaModel(cfg, self.biases(cfg), self.QK_NORM)
        self.tie_word_embeddings = bool(getattr(cfg, "tie_word_embeddings", False))
        self.lm_head = ParallelLMHead(cfg.vocab_size, cfg.hidden_size)
        if self.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    @classmethod
    def biases(cls, cfg: Any) -> Biases:
        """Llama: ``attention_bias`` on Q, K, V and O; ``mlp_bias`` on the MLP."""
        attn = bool(getattr(cfg, "attention_bias", False))
        return Biases(qkv=attn, o=attn, mlp=bool(getattr(cfg, "mlp_bias", False)))

    # --8<-- [start:check_config]
    @classmethod
    def check_config(cls, cfg: Any) -> None:
        """Refuse, naming the field and its value, every ``config.json`` setting that changes the
        outputs of the ``transformers`` model but that this code does not compute.

        The other fields that change outputs are honoured: the sizes, ``head_dim``,
        ``rms_norm_eps``, the biases, ``tie_word_embeddings``, ``hidden_act`` (through
        ``transformers``' own functions) and the rope types in ``RotaryEmbedding.SUPPORTED``
        (refused there otherwise). The M2 notes keep the whole table.
        """
        quant = getattr(cfg, "quantization_config", None)
        if quant:
            method = quant.get("quant_method") if isinstance(quant, dict) else quant
            raise ValueError(f"quantization_config (quant_method={method!r}) in config.json is "
                             "not supported: FoloVLLM runs unquantized weights")
        if not cls.HAS_SLIDING_WINDOW:
            return  # transformers' Llama ignores sliding-window fields: so do we
        layer_types = list(getattr(cfg, "layer_types", None) or [])
        if "sliding_attention" in layer_types or (
                getattr(cfg, "use_sliding_window", False) and getattr(cfg, "sliding_window", None)):
            raise ValueError(
                f"use_sliding_window={getattr(cfg, 'use_sliding_window', None)!r} is not supported "
                f"(config.json: sliding_window={getattr(cfg, 'sliding_window', None)!r}, "
                "layer_types with 'sliding_attention'): FoloVLLM attends to the whole context")
    # --8<-- [end:check_config]

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor,
                md: AttentionMetadata) -> torch.Tensor:
        """Hidden states ``[T, hidden]`` for the flat batch."""
        return self.model(input_ids, positions, md)

    def compute_logits(self, hidden: torch.Tensor) -> torch.Tensor | None:
        """Logits only for the rows given (the last token of each sequence): with a 150k vocab
        the LM head is the largest matmul of a decode step, so skipping the other rows matters.
        With tensor parallelism they are gathered on rank 0, the rank that samples; the other
        ranks get ``None``."""
        return self.lm_head(hidden)
