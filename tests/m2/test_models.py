"""Our Llama / Qwen2 / Qwen3 against transformers: logits, layers and weight loading.

Tolerance: float32 on CPU. Our fused Q/K/V and gate/up matmuls and flat-batch attention add up
floating-point terms in a different order than transformers does, so logits agree to ~1e-5
relative, not bit for bit (measured max abs diff: ~2e-6 on the tiny models, ~6e-4 on the default
model, whose logits reach ~30).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from folovllm.config import EngineArgs, ModelConfig
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.scheduler_output import CachedSeqData, NewSeqData, SchedulerOutput
from folovllm.model_executor.layers.layernorm import RMSNorm
from folovllm.model_executor.layers.rotary_embedding import RotaryEmbedding, rope_parameters
from folovllm.model_executor.loader import load_model
from folovllm.model_executor.models.registry import get_model_class
from folovllm.sampling_params import SamplingParams
from folovllm.sequence import Sequence, SequenceData
from folovllm.worker.model_runner import ModelRunner

PROMPTS = [[5, 6, 7, 8, 9, 10, 11, 12], [13, 14, 15], [20, 21, 22, 23, 24]]


def _runner(model_dir: Path, **kw) -> ModelRunner:
    cfg = EngineArgs.from_kwargs(model=str(model_dir), device="cpu",
                                 kv_cache_memory_bytes=2**26, **kw).create_engine_config()
    return ModelRunner(cfg)


def run_step(runner: ModelRunner, kv: KVCacheManager, seqs: list[Sequence],
             prefill: bool) -> torch.Tensor:
    """One greedy runner step without the scheduler: blocks for the tokens to compute, then the
    scheduler output a scheduler would send (each sequence in full on its prefill, afterwards
    only its new blocks). Returns the logits the runner computed, ``[S, V]`` in order, and
    checks that it sampled their argmax, which the caller appends as the next token."""
    new, cached, counts = [], CachedSeqData(), {}
    for s in seqs:
        s.data.num_computed_tokens = 0 if prefill else s.data.get_len() - 1
        added = kv.allocate_slots(s.seq_id, s.data.get_len())
        assert added is not None
        counts[s.seq_id] = s.data.get_len() - s.data.num_computed_tokens
        if prefill:
            new.append(NewSeqData(s.seq_id, f"r{s.seq_id}", 0, s.data.prompt_token_ids,
                                  SamplingParams(temperature=0), kv.get_block_ids(s.seq_id), 0))
        else:
            cached.seq_ids.append(s.seq_id)
            cached.resumed_from_preemption.append(False)
            cached.new_block_ids.append(added)
            cached.num_computed_tokens.append(s.data.num_computed_tokens)
    model, captured = runner.model, []
    compute_logits = model.compute_logits

    def capture(hidden: torch.Tensor) -> torch.Tensor:
        captured.append(compute_logits(hidden))
        return captured[-1]

    model.compute_logits = capture
    try:
        out = runner.execute_model(
            SchedulerOutput(new, cached, counts, sum(counts.values()), set()))
    finally:
        del model.compute_logits
    assert not out.errors and out.seq_ids == [s.seq_id for s in seqs]
    [logits] = captured
    assert out.sampled_token_ids == [[t] for t in logits.float().argmax(-1).tolist()]
    return logits


def _check_logits(model_dir: Path, atol: float, **kw) -> None:
    runner = _runner(model_dir, **kw)
    kv = KVCacheManager(runner.num_blocks, runner.block_size)
    hf = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    seqs = [Sequence(i, SequenceData(tuple(p))) for i, p in enumerate(PROMPTS)]
    logits = run_step(runner, kv, seqs, prefill=True)
    for step in range(4):  # the prefill, then three decode steps, each against a full HF forward
        with torch.no_grad():
            ref = torch.stack([hf(torch.tensor([s.data.get_token_ids()])).logits[0, -1]
                               for s in seqs])
        torch.testing.assert_close(logits, ref, atol=atol, rtol=1e-5)
        if step == 3:
            break
        for s, row in zip(seqs, logits):
            s.data.append_token_id(int(row.argmax()), 0.0)
        logits = run_step(runner, kv, seqs, prefill=False)


def test_tiny_model_logits_match_transformers(tiny_model_dir: Path) -> None:
    _check_logits(tiny_model_dir, atol=1e-5)


def test_default_model_logits_match_transformers(default_model_dir: Path) -> None:
    _check_logits(default_model_dir, atol=2e-3, max_model_len=256)


def test_rmsnorm_fused_residual() -> None:
    norm = RMSNorm(8, eps=1e-6)
    norm.weight.data = torch.linspace(0.5, 2.0, 8)
    x, r = torch.randn(3, 8), torch.randn(3, 8)
    out, new_r = norm(x, r)
    torch.testing.assert_close(new_r, x + r)
    torch.testing.assert_close(out, norm(x + r))


def test_llama3_rope_matches_transformers(tiny_model_dirs) -> None:
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    cfg = ModelConfig(model=str(tiny_model_dirs["llama"]), device="cpu").hf_config
    params = rope_parameters(cfg)
    assert params["rope_type"] == "llama3"
    rope = RotaryEmbedding(16, 256, params)
    inv_freq, _ = ROPE_INIT_FUNCTIONS["llama3"](cfg, "cpu")
    freqs = torch.arange(256).float()[:, None] * inv_freq[None, :]
    torch.testing.assert_close(rope.cos, torch.cat([freqs, freqs], -1).cos())


def test_unsupported_rope_type_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="rope_type='yarn' is not supported"):
        RotaryEmbedding(16, 64, {"rope_type": "yarn", "rope_theta": 1e4})


def test_registry_lists_supported_architectures() -> None:
    assert get_model_class(["Qwen3ForCausalLM"]).__name__ == "Qwen3ForCausalLM"
    with pytest.raises(ValueError, match=r"not supported; supported: \['LlamaForCausalLM'"):
        get_model_class(["MistralForCausalLM"])


def test_tied_embeddings_share_one_tensor(tiny_model_dirs) -> None:
    qwen2 = load_model(ModelConfig(model=str(tiny_model_dirs["qwen2"]), device="cpu"))
    llama = load_model(ModelConfig(model=str(tiny_model_dirs["llama"]), device="cpu"))
    assert qwen2.lm_head.weight is qwen2.model.embed_tokens.weight
    assert llama.lm_head.weight is not llama.model.embed_tokens.weight


def test_sharded_checkpoint_loads(tiny_model_dirs, tmp_path: Path) -> None:
    hf = AutoModelForCausalLM.from_pretrained(tiny_model_dirs["qwen3"])
    out = tmp_path / "sharded"
    hf.save_pretrained(out, max_shard_size="50KB")
    for f in tiny_model_dirs["qwen3"].glob("tokenizer*"):
        shutil.copy(f, out)
    assert (out / "model.safetensors.index.json").is_file()
    a = load_model(ModelConfig(model=str(out), device="cpu"))
    b = load_model(ModelConfig(model=str(tiny_model_dirs["qwen3"]), device="cpu"))
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(pa, pb), name


def _rewrite_weights(src: Path, dst: Path, edit) -> None:
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    tensors = load_file(dst / "model.safetensors")
    edit(tensors)
    save_file(tensors, dst / "model.safetensors", metadata={"format": "pt"})


def test_missing_weight_is_an_error(tiny_model_dirs, tmp_path: Path) -> None:
    _rewrite_weights(tiny_model_dirs["llama"], tmp_path / "m",
                     lambda t: t.pop("model.layers.1.mlp.down_proj.weight"))
    with pytest.raises(ValueError, match="missing weights for .*down_proj"):
        load_model(ModelConfig(model=str(tmp_path / "m"), device="cpu"))


def test_unexpected_or_misshapen_weight_is_an_error(tiny_model_dirs, tmp_path: Path) -> None:
    _rewrite_weights(tiny_model_dirs["llama"], tmp_path / "a",
                     lambda t: t.update({"model.layers.0.extra.weight": torch.zeros(2)}))
    with pytest.raises(ValueError, match="'model.layers.0.extra.weight' has no place"):
        load_model(ModelConfig(model=str(tmp_path / "a"), device="cpu"))
    _rewrite_weights(tiny_model_dirs["llama"], tmp_path / "b",
                     lambda t: t.update({"model.layers.0.self_attn.k_proj.weight": torch.zeros(3, 64)}))
    with pytest.raises(ValueError, match="for 'k' has 3 rows, expected 32"):
        load_model(ModelConfig(model=str(tmp_path / "b"), device="cpu"))


def test_no_weights_is_an_error(tiny_model_dirs, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(tiny_model_dirs["llama"] / "config.json", tmp_path / "config.json")
    cfg = ModelConfig(model=str(tmp_path), device="cpu")
    _refuse_to_build(monkeypatch)
    with pytest.raises(ValueError, match="no \\*.safetensors weights"):
        load_model(cfg)


def _refuse_to_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make building our model fail the test: an error raised proves the check came first."""
    import folovllm.model_executor.models.registry as registry

    def never(*_: object) -> None:
        raise AssertionError("the model was built before the check")

    monkeypatch.setattr(registry, "get_model_class", lambda _archs: never)


def test_corrupt_weights_name_the_file_before_the_model_is_built(
        tiny_model_dirs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from folovllm.entrypoints.llm import LLM

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], d)
    (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100])
    _refuse_to_build(monkeypatch)
    with pytest.raises(ValueError) as error:
        LLM(str(d), device="cpu")
    assert str(error.value) == (
        f"model={str(d)!r} is invalid: cannot read its model.safetensors (SafetensorError: "
        "Error while deserializing header: invalid header length)")


@pytest.mark.parametrize("index, message", [
    ("{x", "its model.safetensors.index.json is not valid JSON (Expecting property name"),
    ("[]", "its model.safetensors.index.json is not a JSON object (it holds a list)"),
    ("{}", 'its model.safetensors.index.json has no "weight_map" object naming the shards'),
    ('{"weight_map": {"lm_head.weight": "gone.safetensors"}}',
     "cannot read its gone.safetensors ("),
])
def test_a_bad_shard_index_is_named(tiny_model_dirs, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, index, message) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], d)
    (d / "model.safetensors.index.json").write_text(index)
    _refuse_to_build(monkeypatch)
    with pytest.raises(ValueError) as error:
        load_model(ModelConfig(model=str(d), device="cpu"))
    assert str(error.value).startswith(f"model={str(d)!r} is invalid: {message}")


def test_weights_of_another_size_name_the_weight_and_both_shapes(tiny_model_dirs,
                                                                 tmp_path: Path) -> None:
    """A checkpoint of hidden size 128 in a directory whose config says 64."""
    from folovllm.entrypoints.llm import LLM
    from tests.tiny_models import build_tiny_model

    wide = build_tiny_model("llama", tmp_path / "wide", hidden_size=128)
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], d)
    shutil.copy(wide / "model.safetensors", d / "model.safetensors")
    with pytest.raises(ValueError) as error:
        LLM(str(d), device="cpu")
    assert str(error.value) == (
        f"model={str(d)!r} is invalid: its model.safetensors does not fit its config.json: "
        "lm_head.weight: checkpoint tensor has shape (384, 128), expected (384, 64)")


def test_dummy_weights_have_the_real_shapes(tiny_model_dirs, tmp_path: Path) -> None:
    shutil.copy(tiny_model_dirs["qwen3"] / "config.json", tmp_path / "config.json")
    cfg = json.loads((tmp_path / "config.json").read_text())
    dummy = load_model(ModelConfig(model=str(tmp_path), device="cpu", load_format="dummy"))
    real = load_model(ModelConfig(model=str(tiny_model_dirs["qwen3"]), device="cpu"))
    assert [p.shape for p in dummy.parameters()] == [p.shape for p in real.parameters()]
    assert dummy.model.layers[0].self_attn.qkv_proj.weight.shape[0] == \
        (cfg["num_attention_heads"] + 2 * cfg["num_key_value_heads"]) * cfg["head_dim"]


def test_missing_shard_of_a_stacked_weight_is_an_error(tiny_model_dirs, tmp_path: Path) -> None:
    """k_proj alone missing: q and v fill the stacked qkv weight, but k's rows must not stay
    uninitialised."""
    _rewrite_weights(tiny_model_dirs["qwen3"], tmp_path / "m",
                     lambda t: t.pop("model.layers.0.self_attn.k_proj.weight"))
    with pytest.raises(ValueError, match="missing weights for .*qkv_proj"):
        load_model(ModelConfig(model=str(tmp_path / "m"), device="cpu"))


def test_sliding_window_is_refused(tiny_model_dirs, tmp_path: Path) -> None:
    d = tmp_path / "sw"
    shutil.copytree(tiny_model_dirs["qwen2"], d)
    raw = json.loads((d / "config.json").read_text())
    raw.update(use_sliding_window=True, sliding_window=16)
    (d / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="use_sliding_window=True is not supported"):
        load_model(ModelConfig(model=str(d), device="cpu"))


def test_head_dim_defaults_to_hidden_over_heads() -> None:
    from folovllm.model_executor.models.llama import head_dim_of

    class Cfg:
        hidden_size, num_attention_heads = 64, 4

    assert head_dim_of(Cfg()) == 16
    Cfg.head_dim = 32
    assert head_dim_of(Cfg()) == 32
