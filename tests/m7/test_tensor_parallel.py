"""Tensor parallelism end to end on the CPU: worker processes joined by gloo, rank 0 samples.

Greedy tokens at TP=2 (or 3) must equal those at TP=1, with prefix caching, chunked prefill and
preemption all at work; a refused size fails before any process starts; a failing worker is
reported on the driver with its traceback, and no process is left behind.
"""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest

from folovllm import LLM, SamplingParams
from folovllm.core.scheduler_output import CachedSeqData, SchedulerOutput
from folovllm.executor.multiproc_executor import WorkerError
from tests.tiny_models import build_tiny_model

GREEDY = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)


def _prompts(n: int = 6) -> list[dict]:
    """Prompts sharing a two-block prefix (prefix caching hits) and longer than the token
    budget (chunked prefill)."""
    shared = list(range(10, 42))
    return [{"prompt_token_ids": shared + list(range(50 + 7 * i, 60 + 9 * i))} for i in range(n)]


def _generate(model: Path | str, tp: int, prompts: list[dict], params: SamplingParams,
              **kwargs) -> tuple[list[list[int]], LLM]:
    """The greedy ids at ``tp``, and the LLM (shut down here if the run fails, so that no
    process group outlives the test)."""
    llm = LLM(str(model), device="cpu", tensor_parallel_size=tp, **kwargs)
    try:
        outs = llm.generate(prompts, params, use_tqdm=False)
    except BaseException:
        llm.shutdown()
        raise
    return [o.outputs[0].token_ids for o in outs], llm


def _same_tokens_at(model: Path | str, tp: int) -> None:
    """Same greedy ids at TP=1 and TP=``tp``; the small cache forces preemptions, the shared
    prefix hits the prefix cache, the small budget chunks the prompts."""
    kwargs = dict(max_model_len=128, max_num_batched_tokens=24, max_num_seqs=4,
                  num_gpu_blocks=8)
    ref, _ = _generate(model, 1, _prompts(), GREEDY, **kwargs)
    got, llm = _generate(model, tp, _prompts(), GREEDY, **kwargs)
    try:
        engine = llm.llm_engine
        assert engine.scheduler.num_preemptions > 0
        assert engine.prefix_cache_stats.hits > 0
        assert engine.runner.num_blocks == 8
        assert got == ref
    finally:
        llm.shutdown()
    workers = engine.executor.workers
    assert len(workers) == tp - 1 and all(w.process.exitcode == 0 for w in workers)


@pytest.mark.timeout(90)
def test_tp2_matches_tp1_with_split_kv_heads(tiny_model_dirs) -> None:
    """Tiny Llama: 4 query heads, 2 KV heads: each rank holds 2 and 1, and caches its one."""
    _same_tokens_at(tiny_model_dirs["llama"], 2)


@pytest.mark.timeout(90)
def test_tp2_matches_tp1_with_replicated_kv_heads(tmp_path: Path) -> None:
    """Tiny Qwen3 with one KV head (MQA): both ranks hold a copy of it; q/k norms, tied
    embeddings."""
    model = build_tiny_model("qwen3", tmp_path / "mqa", num_key_value_heads=1)
    _same_tokens_at(model, 2)


@pytest.mark.timeout(90)
def test_dummy_weights_are_the_same_model_at_any_size(tiny_model_dirs, tmp_path: Path) -> None:
    """load_format="dummy" draws each tensor whole and shards it: TP=2 runs TP=1's model."""
    import shutil

    shutil.copy(tiny_model_dirs["qwen3"] / "config.json", tmp_path / "config.json")
    kwargs = dict(load_format="dummy", skip_tokenizer_init=True, max_model_len=128)
    prompts = _prompts(2)
    ref, _ = _generate(tmp_path, 1, prompts, GREEDY, **kwargs)
    got, llm = _generate(tmp_path, 2, prompts, GREEDY, **kwargs)
    llm.shutdown()
    assert got == ref


@pytest.mark.timeout(120)
def test_default_model_tp3_matches_tp1(default_model_dir) -> None:
    """SmolLM2-135M (9 query heads, 3 KV heads) on 3 ranks: three query heads and one KV head
    each. Its 30 layers make every step 60 all-reduces: a short run keeps the test quick."""
    if not (Path(default_model_dir) / "config.json").is_file():
        pytest.skip("the default model is not available (no converted copy in the cache)")
    prompts = ["The capital of France is", "def fibonacci(n):"]
    params = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
    ref, _ = _generate(default_model_dir, 1, prompts, params, max_model_len=256)
    got, llm = _generate(default_model_dir, 3, prompts, params, max_model_len=256)
    llm.shutdown()
    assert got == ref and all(len(ids) == 8 for ids in got)


@pytest.mark.timeout(30)
def test_a_size_that_cannot_split_the_heads_is_refused_before_any_process(
        default_model_dir) -> None:
    from torch.multiprocessing import active_children

    before = set(active_children())
    with pytest.raises(ValueError, match="tensor_parallel_size=2 is invalid: "
                       "num_attention_heads=9 is not divisible by it"):
        LLM(str(default_model_dir), device="cpu", tensor_parallel_size=2)
    assert set(active_children()) == before


@pytest.mark.timeout(90)
def test_a_failing_worker_is_reported_with_its_traceback(tiny_model_dirs) -> None:
    """Rank 1 gets a step it cannot run (a sequence it never saw): the driver raises the
    worker's traceback, every worker process is gone, and the executor refuses further steps.
    (First: while a tensor-parallel engine lives, no other engine starts in its process.)"""
    llm = LLM(str(tiny_model_dirs["llama"]), device="cpu", tensor_parallel_size=2)
    executor = llm.llm_engine.executor
    # while it lives, this process is rank 0 of its group: no other engine may start here
    for tp in (1, 2):
        with pytest.raises(RuntimeError, match="engine is (still alive|already running)"):
            LLM(str(tiny_model_dirs["llama"]), device="cpu", tensor_parallel_size=tp)
    worker = executor.workers[0]
    bad = SchedulerOutput([], CachedSeqData([12345], [False], [[0]], [0]), {12345: 1}, 1, set())
    worker.conn.send_bytes(pickle.dumps(bad))
    start = time.monotonic()
    with pytest.raises(WorkerError, match="(?s)rank 1 failed:.*Traceback.*KeyError: 12345"):
        llm.generate([{"prompt_token_ids": [1, 2, 3]}], GREEDY, use_tqdm=False)
    assert time.monotonic() - start < 30
    assert not worker.process.is_alive() and worker.process.exitcode == 1
    with pytest.raises(RuntimeError, match="were shut down"):
        executor.execute_model(bad)


@pytest.mark.timeout(90)
def test_weights_that_fail_to_load_leave_no_process(tiny_model_dirs, tmp_path: Path) -> None:
    """A checkpoint without a weight fails on every rank while loading: the error says which
    weight, and no worker process is left."""
    import shutil

    from safetensors.torch import load_file, save_file
    from torch.multiprocessing import active_children

    model = tmp_path / "broken"
    shutil.copytree(tiny_model_dirs["llama"], model)
    tensors = load_file(model / "model.safetensors")
    tensors.pop("model.layers.1.mlp.down_proj.weight")
    save_file(tensors, model / "model.safetensors", metadata={"format": "pt"})
    before = set(active_children())
    with pytest.raises((WorkerError, ValueError), match="missing weights for .*down_proj"):
        LLM(str(model), device="cpu", tensor_parallel_size=2)
    assert set(active_children()) == before
