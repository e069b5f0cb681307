"""FoloVLLM: a small, readable, fast vLLM-style inference engine."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from folovllm.entrypoints.llm import LLM
    from folovllm.outputs import RequestOutput
    from folovllm.sampling_params import SamplingParams

__version__ = "0.1.0"

__all__ = ["LLM", "RequestOutput", "SamplingParams"]

# Each public name and the module that defines it. They are imported on first use, not here:
# ``LLM`` pulls in torch and transformers (seconds), and ``folovllm --help`` or a bad argument
# must not wait for them.
_LAZY = {
    "LLM": "folovllm.entrypoints.llm",
    "RequestOutput": "folovllm.outputs",
    "SamplingParams": "folovllm.sampling_params",
}


def __getattr__(name: str) -> Any:
    """Import ``LLM``, ``RequestOutput`` or ``SamplingParams`` when first asked for (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'folovllm' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
