"""Loading a checkpoint: tokenizer, model weights (real or dummy) and a readable summary.

Until M2 brings our own model code, the model is ``transformers.AutoModelForCausalLM``; the
``ModelConfig`` has already checked the directory and the architecture and chosen the dtype, so
this module only turns that decision into objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from folovllm.config import ModelConfig

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "tokenizer_config.json")


def load_tokenizer(model_config: ModelConfig) -> Any:
    """The fast tokenizer of ``model_config.tokenizer`` (the model directory by default)."""
    from transformers import AutoTokenizer

    path = Path(model_config.tokenizer)
    if not path.is_dir() or not any((path / f).is_file() for f in _TOKENIZER_FILES):
        raise ValueError(
            f"tokenizer={str(path)!r} is invalid: no tokenizer files there (looked for "
            f"{list(_TOKENIZER_FILES)}); pass tokenizer=<dir> or skip_tokenizer_init=True"
        )
    return AutoTokenizer.from_pretrained(str(path))


# --8<-- [start:load_hf_model]
def load_hf_model(model_config: ModelConfig) -> torch.nn.Module:
    """The ``transformers`` model on the configured device and dtype, in eval mode.

    ``load_format="dummy"`` builds the architecture from ``config.json`` alone and fills it with
    random weights seeded by ``model_config.seed``: the same FLOPs and bytes as the real model, so
    benchmarks and shape tests need no checkpoint.
    """
    from transformers import AutoModelForCausalLM

    dtype = model_config.torch_dtype
    if model_config.load_format == "dummy":
        with torch.random.fork_rng(devices=[]):  # seed the init without touching global state
            torch.manual_seed(model_config.seed)
            model = AutoModelForCausalLM.from_config(model_config.hf_config, dtype=dtype)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_config.model, dtype=dtype)
    return model.to(model_config.device).eval()
# --8<-- [end:load_hf_model]


@dataclass(frozen=True)
class ModelSummary:
    """The numbers a learner wants to know about a model before serving it."""

    path: str
    architecture: str
    num_parameters: int
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    max_model_len: int
    dtype: str
    kv_cache_bytes_per_token: int

    def format(self) -> str:
        rows = [
            ("model", self.path),
            ("architecture", self.architecture),
            ("parameters", f"{self.num_parameters:,} ({self.num_parameters / 1e6:.1f} M)"),
            ("layers", self.num_layers),
            ("hidden size", self.hidden_size),
            ("attention heads", f"{self.num_attention_heads} (KV heads: {self.num_kv_heads}, "
                                f"head dim: {self.head_dim})"),
            ("vocab size", self.vocab_size),
            ("max model len", self.max_model_len),
            ("dtype", self.dtype),
            ("KV cache / token", f"{self.kv_cache_bytes_per_token:,} bytes "
                                 f"({self.kv_cache_bytes_per_token / 1024:.1f} KiB)"),
        ]
        return "\n".join(f"{k:>17}: {v}" for k, v in rows)


def summarize_model(model_config: ModelConfig, model: torch.nn.Module) -> ModelSummary:
    hf = model_config.hf_config
    return ModelSummary(
        path=model_config.model,
        architecture=(hf.architectures or ["?"])[0],
        num_parameters=sum(p.numel() for p in model.parameters()),
        num_layers=model_config.num_layers,
        hidden_size=hf.hidden_size,
        num_attention_heads=model_config.num_attention_heads,
        num_kv_heads=model_config.num_kv_heads,
        head_dim=model_config.head_dim,
        vocab_size=model_config.vocab_size,
        max_model_len=model_config.max_model_len,
        dtype=str(model_config.torch_dtype).removeprefix("torch."),
        kv_cache_bytes_per_token=model_config.kv_cache_bytes_per_token(),
    )
