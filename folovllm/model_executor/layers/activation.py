"""Activation-and-multiply: the gated MLP's activation on a fused gate/up projection."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def get_act_fn(hidden_act: str) -> nn.Module:
    """The activation a checkpoint's ``hidden_act`` names, taken from ``transformers`` itself
    (``ACT2FN``), so that ``gelu``, ``gelu_pytorch_tanh``, ``relu`` and the rest compute exactly
    what the reference model computes; an unknown name is refused."""
    from transformers.activations import ACT2FN

    if not isinstance(hidden_act, str) or hidden_act not in ACT2FN:
        raise ValueError(f"hidden_act={hidden_act!r} in config.json is not supported; supported: "
                         f"{sorted(ACT2FN)}")
    return ACT2FN[hidden_act]


class ActAndMul(nn.Module):
    """``act(gate) * up`` where the input is ``[..., 2 * d]`` = ``[gate | up]``.

    The gate and up projections read the same input, so they are one matrix multiply with the two
    weights stacked (``MergedLinear``); this splits the result and combines it. SiLU (Llama, Qwen)
    calls ``F.silu`` directly; any other ``hidden_act`` uses ``transformers``' function.
    """

    def __init__(self, hidden_act: str = "silu") -> None:
        super().__init__()
        self.act = F.silu if hidden_act == "silu" else get_act_fn(hidden_act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = x.chunk(2, dim=-1)
        return self.act(gate) * up


class SiluAndMul(ActAndMul):
    """``silu(gate) * up``: the activation of every Llama and Qwen checkpoint we know of."""

    def __init__(self) -> None:
        super().__init__("silu")
