"""KV cache sizing: how many blocks a byte budget or an explicit count gives."""

from __future__ import annotations

import logging

import pytest
import torch

from folovllm.config import EngineArgs
from folovllm.worker.model_runner import DEFAULT_CPU_KV_BYTES, ModelRunner


def _runner(model_dir, **kw) -> ModelRunner:
    return ModelRunner(EngineArgs.from_kwargs(model=str(model_dir), device="cpu", **kw)
                       .create_engine_config())


def test_blocks_from_the_byte_budget(tiny_model_dirs) -> None:
    # tiny llama: 2 layers x (K + V) x 2 kv heads x head_dim 16 x 4 bytes = 512 bytes per token
    runner = _runner(tiny_model_dirs["llama"], kv_cache_memory_bytes=10 * 16 * 512 + 100)
    assert runner.bytes_per_block == 16 * 512
    assert runner.num_blocks == 10 and runner.kv_cache_bytes == 10 * 16 * 512
    k = runner.model.model.layers[0].self_attn.attn.k_cache
    assert tuple(k.shape) == (10, 16, 2, 16)


def test_explicit_block_count_wins(tiny_model_dirs) -> None:
    runner = _runner(tiny_model_dirs["llama"], num_gpu_blocks=7, block_size=8,
                     kv_cache_memory_bytes=1)
    assert runner.num_blocks == 7
    assert runner.model.model.layers[1].self_attn.attn.v_cache.shape[:2] == (7, 8)


def test_blocks_capped_by_what_max_num_seqs_can_use(tiny_model_dirs) -> None:
    runner = _runner(tiny_model_dirs["llama"], max_num_seqs=3)   # 4 GiB default budget
    assert DEFAULT_CPU_KV_BYTES == 4 * 2**30
    assert runner.num_blocks == 3 * 256 // 16                     # max_model_len 256


def test_budget_below_one_block_is_a_clear_error(tiny_model_dirs) -> None:
    with pytest.raises(ValueError, match="cannot hold one block of 16 tokens"):
        _runner(tiny_model_dirs["llama"], kv_cache_memory_bytes=1000)


def test_a_cache_smaller_than_max_model_len_warns(tiny_model_dirs, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="folovllm.worker.model_runner"):
        _runner(tiny_model_dirs["llama"], num_gpu_blocks=4)
    assert "holds 64 tokens, fewer than max_model_len=256" in caplog.text


def test_triton_on_cpu_without_the_interpreter_is_a_clear_error(tiny_model_dirs, monkeypatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ValueError, match="attention_backend='triton' is invalid on device='cpu'"):
        _runner(tiny_model_dirs["llama"], attention_backend="triton")
    with pytest.raises(ValueError, match="attention_backend="):
        EngineArgs.from_kwargs(model=str(tiny_model_dirs["llama"]), attention_backend="flash"
                               ).create_engine_config()


def test_auto_backend_is_triton_on_cuda_and_torch_elsewhere() -> None:
    from folovllm.attention.selector import resolve_attn_backend

    assert resolve_attn_backend("auto", torch.device("cpu")) == "torch"
    assert resolve_attn_backend("auto", torch.device("cuda")) == "triton"  # triton is installed
    assert resolve_attn_backend("torch", torch.device("cuda")) == "torch"


def test_the_penalty_counts_are_kept_out_of_the_kv_budget(tiny_model_dirs) -> None:
    """A request with a penalty makes [max_num_seqs, V] bool + int32 buffers on first use: the
    GPU budget leaves room for them until they exist."""
    from folovllm.core.scheduler_output import NewSeqData
    from folovllm.sampling_params import SamplingParams

    runner = _runner(tiny_model_dirs["llama"], max_num_seqs=6)
    assert runner._penalty_bytes() == 6 * runner.vocab_size * 5
    runner._init_penalty_row(0, NewSeqData(0, "r", 0, (5, 6), SamplingParams(
        repetition_penalty=1.2), [0], 0))
    used = runner.prompt_mask.nbytes + runner.output_counts.nbytes
    assert used == 6 * runner.vocab_size * 5 and runner._penalty_bytes() == 0
