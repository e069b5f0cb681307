"""KV slot sizing: the contiguous cache reserves max_model_len tokens per sequence."""

from __future__ import annotations

import pytest

from folovllm.config import EngineArgs
from folovllm.entrypoints.llm import LLM
from folovllm.worker.model_runner import DEFAULT_CPU_KV_BYTES, ModelRunner


def _config(model_dir, **kw):
    return EngineArgs.from_kwargs(model=str(model_dir), device="cpu", **kw).create_engine_config()


def test_slots_from_the_byte_budget(tiny_model_dirs) -> None:
    cfg = _config(tiny_model_dirs["llama"], kv_cache_memory_bytes=10 * 256 * 512 + 100,
                  max_num_seqs=64)
    runner = ModelRunner(cfg)
    per_token = cfg.model_config.kv_cache_bytes_per_token()  # 2 x 2 layers x 2 heads x 16 x 4 B
    assert per_token == 512 and runner.bytes_per_slot == 256 * 512
    assert runner.num_slots == 10 and runner.kv_cache_bytes == 10 * 256 * 512
    k = runner.model.model.layers[0].self_attn.attn.k_cache
    assert tuple(k.shape) == (10, 256, 2, 16)


def test_slots_capped_by_max_num_seqs_and_cpu_default(tiny_model_dirs) -> None:
    runner = ModelRunner(_config(tiny_model_dirs["llama"], max_num_seqs=3))
    assert DEFAULT_CPU_KV_BYTES == 4 * 2**30 and runner.num_slots == 3


def test_budget_below_one_slot_is_a_clear_error(tiny_model_dirs) -> None:
    with pytest.raises(ValueError, match="cannot hold one sequence of max_model_len=256"):
        ModelRunner(_config(tiny_model_dirs["llama"], kv_cache_memory_bytes=1000))


def test_more_requests_than_slots_all_finish(tiny_model_dirs) -> None:
    llm = LLM(str(tiny_model_dirs["qwen2"]), device="cpu", kv_cache_memory_bytes=2 * 256 * 512)
    assert llm.llm_engine.scheduler.num_slots == 2
    from folovllm import SamplingParams

    outs = llm.generate(["a", "b", "c", "d", "e"],
                        SamplingParams(temperature=0, max_tokens=3, ignore_eos=True), use_tqdm=False)
    assert all(len(o.outputs[0].token_ids) == 3 for o in outs)
    assert len(llm.llm_engine.scheduler.free_slots) == 2
