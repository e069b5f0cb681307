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
from folovllm.model_executor.layers.linear import (
    ColumnParallelLinear,
    RowParallelLinear,
    ShardId,
)
from folovllm.model_executor.layers.vocab_parallel_embedding import VocabParallelShard
from folovllm.validation import fail, read_json_object

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
        _safetensors_files(Path(model_config.model))  # our message, not transformers' OSError
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


def _safetensors_files(model_dir: Path) -> list[Path]:
    """The checkpoint's safetensors files, each checked to be readable.

    Both loaders call this before they build a model, so a directory without weights or with a
    truncated file fails at once with a message that names ``model`` and the file, rather than
    with ``transformers``' or ``safetensors``' own error after the model is allocated.
    """
    index = "model.safetensors.index.json"
    if (model_dir / index).is_file():
        weight_map = read_json_object(model_dir, index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise fail("model", str(model_dir), f"its {index} has no \"weight_map\" object "
                       "naming the shards")
        files = [model_dir / s for s in sorted(set(map(str, weight_map.values())))]
    else:
        files = sorted(model_dir.glob("*.safetensors"))
    if not files:
        raise fail("model", str(model_dir), "no *.safetensors weights there (use "
                   "load_format='dummy' for random weights)")
    for path in files:
        _check_readable(model_dir, path)
    return files


def _check_readable(model_dir: Path, path: Path) -> None:
    """Open ``path``'s header: a missing, truncated or non-safetensors file fails here."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            pass
    except (SafetensorError, OSError) as error:
        raise fail("model", str(model_dir), f"cannot read its {path.name} "
                   f"({type(error).__name__}: {error})") from error


# --8<-- [start:load_weights]
def load_weights(model: torch.nn.Module, model_dir: Path, files: list[Path]) -> None:
    """Copy every tensor of the checkpoint's ``files`` (``_safetensors_files``, listed and
    checked before the model was built) into our module tree, mapping HF names to ours.

    A parameter whose module has a ``weight_loader`` (every tensor-parallel layer) is filled by
    it: the loader cuts this rank's part out of the full checkpoint tensor, so one directory loads
    at any ``tensor_parallel_size``. ``q_proj``/``k_proj``/``v_proj`` and
    ``gate_proj``/``up_proj`` land in their stacked modules under the shard id that ``PACKED``
    gives them. A tied ``lm_head`` is skipped; a tensor that maps to nothing, or a parameter
    (or stacked shard) that no tensor filled, is an error rather than a silently random weight.
    """
    from safetensors import safe_open

    params = dict(model.named_parameters())
    tied = getattr(model, "tie_word_embeddings", False)
    filled: set[tuple[str, ShardId]] = set()  # (parameter, shard): every shard must arrive
    for path in files:
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():
                if (tied and name == "lm_head.weight") or "rotary_emb.inv_freq" in name:
                    continue
                target, shard = _map_name(name, model.PACKED)
                try:
                    if target not in params:
                        raise ValueError(f"checkpoint tensor {name!r} has no place in "
                                         f"{type(model).__name__}")
                    _load_one(model, target, params[target], f.get_tensor(name), shard)
                except ValueError as error:
                    raise fail("model", str(model_dir), f"its {path.name} does not fit its "
                               f"config.json: {error}") from error
                filled.add((target, shard))
    expected = {(name, shard) for name in params for shard in _shard_ids(model, name)}
    missing = {name for name, _ in expected - filled} - ({"lm_head.weight"} if tied else set())
    if missing:
        raise ValueError(f"checkpoint is missing weights for {sorted(missing)[:5]}")


def _load_one(model: torch.nn.Module, target: str, param: torch.nn.Parameter,
              tensor: torch.Tensor, shard: ShardId) -> None:
    """One checkpoint tensor into ``param``: through its module's ``weight_loader`` if it has
    one, else copied whole (norms), shapes checked."""
    owner = model.get_submodule(target.rsplit(".", 1)[0])
    loader = getattr(owner, "weight_loader", None)
    if loader is not None:
        try:
            loader(param, tensor, shard)
        except ValueError as error:
            raise ValueError(f"{target}: {error}") from error
        return
    if param.shape != tensor.shape:
        raise ValueError(f"{target}: checkpoint shape {tuple(tensor.shape)} != "
                         f"model shape {tuple(param.shape)}")
    param.data.copy_(tensor)


def _shard_ids(model: torch.nn.Module, name: str) -> list[ShardId]:
    """The checkpoint tensors ``name`` is made of: one per stacked part (its module's
    ``shards``: q/k/v, gate/up), else the one tensor of the same name (shard ``None``)."""
    owner = model.get_submodule(name.rsplit(".", 1)[0])
    return list(getattr(owner, "shards", None) or [None])


def _map_name(name: str, packed: dict[str, tuple[str, ShardId]]) -> tuple[str, ShardId]:
    for src, (dst, shard) in packed.items():
        if f".{src}." in name:
            return name.replace(f".{src}.", f".{dst}."), shard
    return name, None
# --8<-- [end:load_weights]


# --8<-- [start:load_model]
def load_model(model_config: ModelConfig) -> torch.nn.Module:
    """Our own model implementation (M2+), on the configured device and dtype, in eval mode.

    The module tree is built directly on the target device in the target dtype (no fp32 copy on
    the CPU first); then weights are copied in from safetensors, or drawn at random (seeded) for
    ``load_format="dummy"``.
    """
    from folovllm.model_executor.models.registry import get_model_class

    cls = get_model_class(model_config.hf_config.architectures or [])
    model_dir = Path(model_config.model)
    # a bad checkpoint fails before the model is allocated
    files = [] if model_config.load_format == "dummy" else _safetensors_files(model_dir)
    old_dtype = torch.get_default_dtype()
    torch.set_default_dtype(model_config.torch_dtype)
    try:
        with torch.device(model_config.device):
            model = cls(model_config.hf_config)
    finally:
        torch.set_default_dtype(old_dtype)
    if model_config.load_format == "dummy":
        _init_dummy(model, model_config.seed)
    else:
        load_weights(model, model_dir, files)
    return model.eval()


def _init_dummy(model: torch.nn.Module, seed: int) -> None:
    """Random weights with realistic scales: norms at 1, everything else N(0, 0.02).

    Each tensor is drawn whole, in the shape the unsharded model holds it, and goes to the
    parameter through its layer's ``weight_loader``, as a checkpoint tensor would: every
    ``tensor_parallel_size`` then runs the same random model, each rank its part of it.
    """
    gen = torch.Generator(device="cpu").manual_seed(seed)
    for name, p in model.named_parameters():
        if name.endswith("norm.weight"):
            p.data.fill_(1.0)
            continue
        owner = model.get_submodule(name.rsplit(".", 1)[0])
        full = torch.randn(_unsharded_shape(owner, p), generator=gen) * 0.02
        if isinstance(owner, ColumnParallelLinear):   # stacked: one piece per shard
            sizes = [shard.full for shard in owner.shards.values()]
            for shard_id, piece in zip(owner.shards, full.split(sizes)):
                owner.weight_loader(p, piece, shard_id)
        elif hasattr(owner, "weight_loader"):
            owner.weight_loader(p, full)
        else:
            p.data.copy_(full)


def _unsharded_shape(owner: torch.nn.Module, p: torch.nn.Parameter) -> tuple[int, ...]:
    """The shape of ``p`` in the model without tensor parallelism (its own shape at TP=1)."""
    if isinstance(owner, ColumnParallelLinear):
        return (sum(shard.full for shard in owner.shards.values()), *p.shape[1:])
    if isinstance(owner, RowParallelLinear) and p is owner.weight:
        return (p.shape[0], owner.input_size)
    if isinstance(owner, VocabParallelShard):
        return (owner.num_embeddings, p.shape[1])
    return tuple(p.shape)
# --8<-- [end:load_model]
