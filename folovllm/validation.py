"""Checks that need neither torch nor transformers.

The configs and ``SamplingParams`` validate their fields with these functions, and the command
line runs the same checks on its arguments before it imports anything heavy: a typo then fails
in a fraction of a second, with the message the Python API gives, instead of after the model has
loaded. Every check raises ``ValueError("<field>=<value> is invalid: <what is allowed>")``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Architectures FoloVLLM implements (its own model code arrives in M2; until then the HF runner
# accepts the same set so that every milestone runs the same models).
SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM")
# The names ModelConfig maps to torch dtypes ("auto": the rule in ModelConfig._resolve_dtype).
MODEL_DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")
LOAD_FORMATS = ("auto", "dummy")
DEVICES = ("auto", "cpu", "cuda")


def fail(name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{name}={value!r} is invalid: {allowed}")


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    """Validate an integer field (``bool`` is rejected: ``True`` is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(name, value, "must be an integer")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else lo
        hi_s = "inf" if hi is None else hi
        raise fail(name, value, f"must be in [{lo_s}, {hi_s}]")
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise fail(name, value, f"must be one of {list(choices)}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(name, value, "must be True or False")
    return value


def check_fraction(name: str, value: Any) -> float:
    """A share of something, such as the GPU memory the engine may use: a number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
        raise fail(name, value, "must be a number in (0, 1]")
    return value


def read_json(model: str | Path, name: str) -> Any:
    """The parsed JSON file ``name`` of the model directory ``model``.

    Every JSON file of a checkpoint is read here, so that a malformed one fails with a message
    that names ``model`` and the file instead of a bare ``JSONDecodeError`` about "line 1
    column 2" of some file.
    """
    try:
        return json.loads((Path(model) / name).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise fail("model", str(model), f"its {name} is not valid JSON ({error})") from error
    except OSError as error:
        raise fail("model", str(model), f"its {name} cannot be read ({error})") from error


def read_json_object(model: str | Path, name: str) -> dict[str, Any]:
    """``read_json`` for the files whose top level must be an object (every config file)."""
    raw = read_json(model, name)
    if not isinstance(raw, dict):
        raise fail("model", str(model), f"its {name} is not a JSON object (it holds a "
                   f"{type(raw).__name__})")
    return raw


def check_model_dir(model: str | Path) -> dict[str, Any]:
    """Read a model directory's ``config.json`` and check that FoloVLLM runs its architecture.

    Returns the raw config. The messages name the usual mistakes (a path that does not exist, a
    directory without ``config.json``, an architecture we do not implement) instead of letting
    ``transformers`` fail later with an error about a hub repository id. The EOS ids of
    ``generation_config.json`` are checked here too, so that a bad one fails before any work.
    """
    model_dir = Path(model)
    if not model_dir.exists():
        raise fail("model", str(model), "the directory does not exist")
    cfg = model_dir / "config.json"
    if not cfg.is_file():
        raise fail("model", str(model), "no config.json there (expected a Hugging Face model "
                   "directory)")
    raw = read_json_object(model, "config.json")
    archs = raw.get("architectures") or []
    if not any(a in SUPPORTED_ARCHITECTURES for a in archs):
        raise fail("model", str(model), f"architecture {archs} is not supported; supported: "
                   f"{list(SUPPORTED_ARCHITECTURES)}")
    generation_eos_ids(model)
    return raw


def generation_eos_ids(model: str | Path) -> list[int]:
    """The EOS ids in the checkpoint's generation_config.json (none when it has no such file).

    ``eos_token_id`` is a token id or a list of them, as ``transformers`` writes it; null or
    absent means none. Anything else is refused: a string would otherwise become one stop id
    per character, and a bool would stop at token 1.
    """
    name = "generation_config.json"
    if not (Path(model) / name).is_file():
        return []
    eos = read_json_object(model, name).get("eos_token_id")
    ids = [] if eos is None else [eos] if not isinstance(eos, list) else eos
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
        raise fail("model", str(model), f"its {name} has eos_token_id={eos!r}; expected a "
                   "token id (an integer >= 0), a list of them, or null")
    return ids
