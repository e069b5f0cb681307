"""Which attention backend runs: the PyTorch reference or the Triton kernels.

Both are modules with the same three functions — ``write_kv``, ``prefill_attention`` and
``decode_attention`` — so the attention layer never knows which one it calls. ``auto`` picks
Triton on CUDA (fused, paged, no gathered copies of the context) and the reference elsewhere.
Triton on a CPU device only works under its interpreter (``TRITON_INTERPRET=1``), which the
kernel tests use.
"""

from __future__ import annotations

import importlib.util
import os
from types import ModuleType

import torch


# --8<-- [start:select]
def resolve_attn_backend(name: str, device: torch.device) -> str:
    """``auto`` -> a concrete backend name; an impossible choice is a clear error."""
    has_triton = importlib.util.find_spec("triton") is not None
    if name == "auto":
        return "triton" if device.type == "cuda" and has_triton else "torch"
    if name == "triton":
        if not has_triton:
            raise ValueError("attention_backend='triton' is invalid: the triton package is not "
                             "installed; use attention_backend='torch'")
        if device.type != "cuda" and os.environ.get("TRITON_INTERPRET") != "1":
            raise ValueError(f"attention_backend='triton' is invalid on device={device.type!r}: "
                             "Triton kernels need CUDA (or TRITON_INTERPRET=1 to interpret them)")
    return name


def get_attn_backend(name: str, device: torch.device) -> ModuleType:
    if resolve_attn_backend(name, device) == "triton":
        from folovllm.attention.backends import triton_attn

        return triton_attn
    from folovllm.attention.backends import torch_ref

    return torch_ref
# --8<-- [end:select]
