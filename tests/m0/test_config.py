"""ModelConfig / CacheConfig / SchedulerConfig / ParallelConfig / EngineConfig / EngineArgs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from folovllm.config import CacheConfig, EngineArgs, ModelConfig, ParallelConfig, SchedulerConfig


def _engine(model_dir: Path, **kw):
    return EngineArgs.from_kwargs(model=str(model_dir), **kw).create_engine_config()


# ---- ModelConfig: inference from each tiny model -----------------------------------------
def test_infers_shapes_and_length(tiny_model_dir: Path) -> None:
    cfg = ModelConfig(model=str(tiny_model_dir), device="cpu")
    raw = json.loads((tiny_model_dir / "config.json").read_text())
    assert cfg.max_model_len == raw["max_position_embeddings"] == 256
    assert cfg.num_layers == 2 and cfg.num_attention_heads == 4 and cfg.num_kv_heads == 2
    assert cfg.head_dim == raw.get("head_dim", raw["hidden_size"] // raw["num_attention_heads"])
    assert cfg.vocab_size == raw["vocab_size"]
    assert cfg.tokenizer == cfg.model


def test_kv_bytes_per_token(tiny_model_dirs: dict[str, Path]) -> None:
    llama = ModelConfig(model=str(tiny_model_dirs["llama"]), device="cpu")
    # 2 (K,V) x 2 layers x 2 kv heads x 16 head dim x 4 bytes
    assert llama.kv_cache_bytes_per_token() == 2 * 2 * 2 * 16 * 4
    assert llama.kv_cache_bytes_per_token(torch.bfloat16) == 2 * 2 * 2 * 16 * 2
    qwen3 = ModelConfig(model=str(tiny_model_dirs["qwen3"]), device="cpu")
    assert qwen3.kv_cache_bytes_per_token() == 2 * 2 * 2 * 32 * 4  # explicit head_dim=32


def test_max_model_len_override_and_cap(tiny_model_dir: Path) -> None:
    assert ModelConfig(model=str(tiny_model_dir), max_model_len=100, device="cpu").max_model_len == 100
    with pytest.raises(ValueError, match=r"max_model_len=257 .*\[1, 256\]"):
        ModelConfig(model=str(tiny_model_dir), max_model_len=257, device="cpu")
    with pytest.raises(ValueError, match="max_model_len=0"):
        ModelConfig(model=str(tiny_model_dir), max_model_len=0, device="cpu")


def test_max_model_len_smallest_key_wins(tiny_model_dirs, tmp_path: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], d)
    raw = json.loads((d / "config.json").read_text())
    raw["max_position_embeddings"] = 512
    raw["max_seq_len"] = 300
    (d / "config.json").write_text(json.dumps(raw))
    assert ModelConfig(model=str(d), device="cpu").max_model_len == 300


# ---- dtype rules ------------------------------------------------------------------------
@pytest.mark.parametrize("name,expected", [
    ("half", torch.float16), ("float16", torch.float16), ("bfloat16", torch.bfloat16),
    ("float", torch.float32), ("float32", torch.float32),
])
def test_explicit_dtype_is_obeyed(tiny_model_dirs, name: str, expected: torch.dtype) -> None:
    cfg = ModelConfig(model=str(tiny_model_dirs["llama"]), dtype=name, device="cpu")
    assert cfg.torch_dtype == expected


def test_auto_dtype_is_float32_on_cpu(default_model_dir: Path) -> None:
    cfg = ModelConfig(model=str(default_model_dir), device="cpu")
    assert cfg.checkpoint_dtype == torch.bfloat16  # the default model is saved in bf16 ...
    assert cfg.torch_dtype == torch.float32         # ... and runs in fp32 on CPU


@pytest.mark.gpu
def test_auto_dtype_is_checkpoint_dtype_on_gpu(tiny_model_dirs, tmp_path: Path) -> None:
    d = tmp_path / "bf16"
    shutil.copytree(tiny_model_dirs["qwen2"], d)
    raw = json.loads((d / "config.json").read_text())
    raw["dtype"] = "bfloat16"
    (d / "config.json").write_text(json.dumps(raw))
    assert ModelConfig(model=str(d), device="cuda").torch_dtype == torch.bfloat16
    raw["dtype"] = "float16"
    (d / "config.json").write_text(json.dumps(raw))
    assert ModelConfig(model=str(d), device="cuda").torch_dtype == torch.float16
    # an fp32 checkpoint runs in bf16 on GPU
    assert ModelConfig(model=str(tiny_model_dirs["llama"]), device="cuda").torch_dtype == \
        torch.bfloat16


def test_every_dtype_name_maps_to_a_torch_dtype() -> None:
    """The names live in the torch-free validation module, the torch dtypes in config.py."""
    from folovllm.config import _DTYPES
    from folovllm.validation import MODEL_DTYPES

    assert ("auto", *_DTYPES) == MODEL_DTYPES


def test_bad_dtype_names_the_choices(tiny_model_dirs) -> None:
    with pytest.raises(ValueError, match=r"dtype='fp8' is invalid: must be one of \['auto'"):
        ModelConfig(model=str(tiny_model_dirs["llama"]), dtype="fp8", device="cpu")


# ---- the default model ------------------------------------------------------------------
def test_default_model_config(default_model_dir: Path) -> None:
    cfg = ModelConfig(model=str(default_model_dir), device="cpu")
    assert cfg.hf_config.architectures == ["LlamaForCausalLM"]
    assert (cfg.num_layers, cfg.num_attention_heads, cfg.num_kv_heads, cfg.head_dim) == (30, 9, 3, 64)
    assert cfg.max_model_len == 8192 and cfg.vocab_size == 49152
    assert cfg.kv_cache_bytes_per_token(torch.bfloat16) == 2 * 30 * 3 * 64 * 2  # 23,040 bytes


def test_model_none_means_default_model(default_model_dir: Path) -> None:
    assert ModelConfig(device="cpu").model == str(default_model_dir)


# ---- bad model directories --------------------------------------------------------------
def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        ModelConfig(model=str(tmp_path / "nope"), device="cpu")


def test_directory_without_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no config.json"):
        ModelConfig(model=str(tmp_path), device="cpu")


def test_unsupported_architecture_lists_supported(tiny_model_dirs, tmp_path: Path) -> None:
    d = tmp_path / "gpt2ish"
    shutil.copytree(tiny_model_dirs["llama"], d)
    raw = json.loads((d / "config.json").read_text())
    raw["architectures"] = ["GPT2LMHeadModel"]
    (d / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match=r"not supported; supported: \['LlamaForCausalLM'"):
        ModelConfig(model=str(d), device="cpu")


def _model_with(src: Path, dst: Path, name: str, text: str) -> Path:
    """A copy of the model ``src`` whose file ``name`` holds ``text``."""
    shutil.copytree(src, dst)
    (dst / name).write_text(text)
    return dst


@pytest.mark.parametrize("name, text, message", [
    ("config.json", "[1, 2]", "its config.json is not a JSON object (it holds a list)"),
    ("config.json", "{x", "its config.json is not valid JSON (Expecting property name"),
    ("generation_config.json", "{x", "its generation_config.json is not valid JSON (Expecting"),
    ("generation_config.json", "[1]", "its generation_config.json is not a JSON object"),
])
def test_a_malformed_json_file_is_named(tiny_model_dirs, tmp_path: Path, name, text,
                                        message) -> None:
    """A ValueError naming ``model`` and the file, from ModelConfig: before any model exists."""
    d = _model_with(tiny_model_dirs["llama"], tmp_path / "m", name, text)
    with pytest.raises(ValueError) as error:
        ModelConfig(model=str(d), device="cpu")
    assert str(error.value).startswith(f"model={str(d)!r} is invalid: {message}")


@pytest.mark.parametrize("eos", ["abc", "2", 1.5, -1, True, [True], [[1]], [2, "3"], {"a": 1}])
def test_generation_config_eos_must_be_token_ids(tiny_model_dirs, tmp_path: Path, eos) -> None:
    """A string would become one stop id per character, a bool token 1: both are refused."""
    d = _model_with(tiny_model_dirs["llama"], tmp_path / "m", "generation_config.json",
                    json.dumps({"eos_token_id": eos}))
    with pytest.raises(ValueError) as error:
        ModelConfig(model=str(d), device="cpu")
    assert str(error.value) == (
        f"model={str(d)!r} is invalid: its generation_config.json has eos_token_id={eos!r}; "
        "expected a token id (an integer >= 0), a list of them, or null")


@pytest.mark.parametrize("content, ids", [
    (None, []), ({}, []), ({"eos_token_id": None}, []), ({"eos_token_id": 7}, [7]),
    ({"eos_token_id": [7, 0]}, [7, 0]), ({"eos_token_id": []}, []),
])
def test_generation_config_eos_ids_are_an_int_or_a_list(tmp_path: Path, content, ids) -> None:
    from folovllm.validation import generation_eos_ids

    if content is not None:
        (tmp_path / "generation_config.json").write_text(json.dumps(content))
    assert generation_eos_ids(tmp_path) == ids


@pytest.mark.parametrize("field,value", [
    ("load_format", "pt"), ("device", "tpu"), ("seed", "1"), ("skip_tokenizer_init", 1),
    ("enforce_eager", "yes"),
])
def test_model_config_bad_values(tiny_model_dirs, field: str, value) -> None:
    with pytest.raises(ValueError, match=f"{field}="):
        ModelConfig(model=str(tiny_model_dirs["llama"]), **{"device": "cpu", field: value})


# ---- the other groups -------------------------------------------------------------------
@pytest.mark.parametrize("kw,match", [
    (dict(block_size=0), r"block_size=0 .*\[1, 1024\]"),
    (dict(block_size=16.0), "block_size=16.0 .*integer"),
    (dict(gpu_memory_utilization=0), r"gpu_memory_utilization=0 .*\(0, 1\]"),
    (dict(gpu_memory_utilization=1.5), "gpu_memory_utilization=1.5"),
    (dict(num_gpu_blocks=0), "num_gpu_blocks=0"),
    (dict(enable_prefix_caching="no"), "enable_prefix_caching="),
    (dict(cache_dtype="fp8"), "cache_dtype='fp8'"),
])
def test_cache_config_bad_values(kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        CacheConfig(**kw)


def test_cache_config_good_values() -> None:
    c = CacheConfig(block_size=1, gpu_memory_utilization=1.0, num_gpu_blocks=8, cache_dtype="bfloat16")
    assert c.resolve_dtype(torch.float32) == torch.bfloat16
    assert CacheConfig().resolve_dtype(torch.float16) == torch.float16


@pytest.mark.parametrize("kw,match", [
    (dict(max_num_seqs=0), "max_num_seqs=0"),
    (dict(max_num_batched_tokens=-1), "max_num_batched_tokens=-1"),
    (dict(enable_chunked_prefill=None), "enable_chunked_prefill="),
    (dict(policy="priority"), r"policy='priority' .*\['fcfs'\]"),
])
def test_scheduler_config_bad_values(kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        SchedulerConfig(**kw)


def test_parallel_config_bad_value() -> None:
    with pytest.raises(ValueError, match="tensor_parallel_size=0"):
        ParallelConfig(tensor_parallel_size=0)


# ---- EngineConfig cross-field rules and EngineArgs ---------------------------------------
def test_engine_config_defaults(tiny_model_dirs) -> None:
    cfg = _engine(tiny_model_dirs["llama"], device="cpu")
    assert cfg.scheduler_config.max_num_batched_tokens == 8192  # max(256, 8192)
    assert cfg.kv_cache_dtype == torch.float32


def test_token_budget_must_hold_a_prompt_without_chunked_prefill(tiny_model_dirs) -> None:
    with pytest.raises(ValueError, match="max_num_batched_tokens=100 .*max_model_len=256"):
        _engine(tiny_model_dirs["llama"], device="cpu", max_num_batched_tokens=100,
                max_num_seqs=64, enable_chunked_prefill=False)
    cfg = _engine(tiny_model_dirs["llama"], device="cpu", max_num_batched_tokens=100,
                  max_num_seqs=64)   # chunked prefill (the default) splits longer prompts
    assert cfg.scheduler_config.max_num_batched_tokens == 100
    assert cfg.scheduler_config.enable_chunked_prefill


def test_default_token_budget_depends_on_chunked_prefill() -> None:
    """8192 with chunking; without it a step must hold a whole prompt of max_model_len."""
    from types import SimpleNamespace

    from folovllm.config import CacheConfig, EngineConfig, ParallelConfig, SchedulerConfig

    def budget(chunked: bool) -> int:
        config = EngineConfig(SimpleNamespace(max_model_len=10_000, enforce_eager=True,
                                              device="cpu"), CacheConfig(),
                              SchedulerConfig(enable_chunked_prefill=chunked), ParallelConfig())
        return config.scheduler_config.max_num_batched_tokens

    assert (budget(True), budget(False)) == (8192, 10_000)


def test_long_prefill_token_threshold_is_checked(tiny_model_dirs) -> None:
    llama = tiny_model_dirs["llama"]
    for bad in (-1, 1.5, True, "8"):
        with pytest.raises(ValueError, match="long_prefill_token_threshold=.* is invalid"):
            _engine(llama, device="cpu", long_prefill_token_threshold=bad)
    with pytest.raises(ValueError, match="needs enable_chunked_prefill=True"):
        _engine(llama, device="cpu", long_prefill_token_threshold=64,
                enable_chunked_prefill=False)
    assert _engine(llama, device="cpu", long_prefill_token_threshold=64
                   ).scheduler_config.long_prefill_token_threshold == 64


def test_tensor_parallel_size_must_split_the_heads(tiny_model_dirs, default_model_dir) -> None:
    """The ranks split the query heads and the MLP evenly; KV heads are split evenly or each
    replicated on tp / num_kv_heads ranks. Anything else is refused, naming both numbers."""
    llama = tiny_model_dirs["llama"]   # 4 query heads, 2 KV heads, intermediate 128
    for tp in (1, 2, 4):   # 4: each KV head replicated on two ranks
        assert _engine(llama, device="cpu", tensor_parallel_size=tp
                       ).parallel_config.tensor_parallel_size == tp
    for tp in (3, 8):
        with pytest.raises(ValueError, match=f"tensor_parallel_size={tp} is invalid: "
                           "num_attention_heads=4 is not divisible by it"):
            _engine(llama, device="cpu", tensor_parallel_size=tp)
    # the default model: 9 query heads over 3 KV heads
    assert _engine(default_model_dir, device="cpu", tensor_parallel_size=3
                   ).parallel_config.tensor_parallel_size == 3
    with pytest.raises(ValueError, match="tensor_parallel_size=2 is invalid: "
                       "num_attention_heads=9 is not divisible by it"):
        _engine(default_model_dir, device="cpu", tensor_parallel_size=2)


def test_kv_heads_that_neither_split_nor_replicate_are_refused(tiny_model_dirs, tmp_path) -> None:
    """12 query heads over 4 KV heads: 2 ranks split both; 6 ranks split the query heads, but
    4 KV heads neither split in 6 nor replicate evenly over 6 ranks."""
    model = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], model)
    cfg = json.loads((model / "config.json").read_text())
    cfg.update(hidden_size=96, num_attention_heads=12, num_key_value_heads=4,
               intermediate_size=192)
    (model / "config.json").write_text(json.dumps(cfg))
    assert _engine(model, device="cpu", tensor_parallel_size=2).parallel_config
    with pytest.raises(ValueError, match="tensor_parallel_size=6 is invalid: num_kv_heads=4 is "
                       "neither divisible by it nor a divisor of it"):
        _engine(model, device="cpu", tensor_parallel_size=6)


def test_kv_cache_bytes_per_token_is_per_rank(tiny_model_dirs) -> None:
    """Each rank caches only its KV heads: half of them at TP=2, one replicated head at TP=4."""
    llama = ModelConfig(model=str(tiny_model_dirs["llama"]), device="cpu")   # 2 KV heads
    full = llama.kv_cache_bytes_per_token()
    assert llama.kv_cache_bytes_per_token(tensor_parallel_size=2) == full // 2
    assert llama.kv_cache_bytes_per_token(tensor_parallel_size=4) == full // 2
    assert [llama.num_kv_heads_per_rank(tp) for tp in (1, 2, 4)] == [2, 1, 1]


def test_unknown_keyword_is_named_with_a_suggestion() -> None:
    with pytest.raises(ValueError, match=r"'max_num_seq'; did you mean 'max_num_seqs'"):
        EngineArgs.from_kwargs(max_num_seq=4)
    with pytest.raises(ValueError, match="unknown engine argument 'banana'"):
        EngineArgs.from_kwargs(banana=1)


def test_cheap_groups_fail_before_the_model_loads(tmp_path: Path) -> None:
    # the model path does not exist, but the bad block size is reported first
    with pytest.raises(ValueError, match="block_size"):
        EngineArgs.from_kwargs(model=str(tmp_path / "nope"), block_size=-1).create_engine_config()


def test_token_budget_must_hold_a_decode_of_every_sequence(tiny_model_dirs) -> None:
    with pytest.raises(ValueError, match="max_num_batched_tokens=300 .*max_num_seqs=512"):
        _engine(tiny_model_dirs["llama"], device="cpu", max_num_seqs=512,
                max_num_batched_tokens=300)
