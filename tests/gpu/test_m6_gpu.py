"""M6 on CUDA: decode steps replayed from CUDA graphs give the tokens of eager steps, at batch
sizes that hit a captured size and that pad to one, with the prefix cache, chunked prefill and
preemption on, for seeded sampling, and as the batch changes between replays; the graphs'
memory is measured and left out of the KV cache."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from folovllm import LLM, SamplingParams

pytestmark = pytest.mark.gpu

QWEN3 = "folovllm/benchmarks/configs/qwen3-0.6b"   # config.json only: dummy weights


def _prompts(n: int, seed: int, hi: int = 120) -> list[dict]:
    rng = random.Random(seed)
    return [{"prompt_token_ids": [rng.randrange(3, 380) for _ in range(rng.randint(1, hi))]}
            for _ in range(n)]


def _params(n: int, seed: int, **kw) -> list[SamplingParams]:
    """Different output lengths: sequences finish at different steps, so the batch (and the
    graph it replays) changes from step to step."""
    rng = random.Random(seed)
    return [SamplingParams(max_tokens=rng.randint(2, 24), ignore_eos=True, **kw)
            for _ in range(n)]


def _ids(outs) -> list[list[int]]:
    return [c.token_ids for o in outs for c in o.outputs]


def _pair(model: str, **kw) -> tuple[LLM, LLM]:
    common = dict(device="cuda", dtype="float32", gpu_memory_utilization=0.3, **kw)
    return LLM(model, enforce_eager=True, **common), LLM(model, enforce_eager=False, **common)


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_graphs_give_the_tokens_of_eager_steps_at_every_batch_size(tiny_model_dirs, arch) -> None:
    eager, graphs = _pair(str(tiny_model_dirs[arch]), max_num_seqs=256)
    runner = graphs.llm_engine.runner
    assert runner.cuda_graphs is not None and eager.llm_engine.runner.cuda_graphs is None
    for n in (1, 3, 8, 13, 64, 255):   # exact sizes (1, 8, 64) and padded ones
        prompts, params = _prompts(n, seed=n), _params(n, seed=n, temperature=0)
        before = runner.cuda_graphs.num_replays
        assert _ids(graphs.generate(prompts, params, use_tqdm=False)) == \
            _ids(eager.generate(prompts, params, use_tqdm=False)), n
        assert runner.cuda_graphs.num_replays > before, n


def test_graphs_with_prefix_cache_chunks_and_preemption(tiny_model_dirs) -> None:
    rng = random.Random(3)
    shared = [rng.randrange(3, 380) for _ in range(64)]
    prompts = [{"prompt_token_ids": shared + p["prompt_token_ids"]} for p in _prompts(24, 4)]
    eager, graphs = _pair(str(tiny_model_dirs["qwen3"]), max_num_seqs=16,
                          max_num_batched_tokens=64, num_gpu_blocks=40)
    params = _params(24, seed=5, temperature=0)
    assert _ids(graphs.generate(prompts, params, use_tqdm=False)) == \
        _ids(eager.generate(prompts, params, use_tqdm=False))
    engine = graphs.llm_engine
    assert engine.scheduler.num_preemptions > 0 and engine.prefix_cache_stats.hits > 0
    assert engine.runner.cuda_graphs.num_replays > 0


def test_seeded_sampling_is_the_same_with_graphs(tiny_model_dirs) -> None:
    eager, graphs = _pair(str(tiny_model_dirs["llama"]), max_num_seqs=32)
    prompts = _prompts(20, seed=6)
    params = [SamplingParams(temperature=0.9, top_p=0.9, seed=i, max_tokens=12 + i % 5,
                             ignore_eos=True) for i in range(20)]
    assert _ids(graphs.generate(prompts, params, use_tqdm=False)) == \
        _ids(eager.generate(prompts, params, use_tqdm=False))


def test_a_graph_reads_each_steps_inputs_not_the_captured_ones(tiny_model_dirs) -> None:
    """Batches of different sequences in turn through the same graphs, one sequence running to
    max_model_len (its block table row at full width): each matches the eager engine."""
    eager, graphs = _pair(str(tiny_model_dirs["llama"]), max_num_seqs=8)
    max_len = graphs.llm_engine.config.model_config.max_model_len
    for seed in range(4):
        prompts = _prompts(1 + 2 * seed, seed=10 + seed)
        params = _params(len(prompts), seed=seed, temperature=0)
        if seed == 3:
            prompts[0] = {"prompt_token_ids": [7] * 40}
            params[0] = SamplingParams(temperature=0, max_tokens=max_len - 40, ignore_eos=True)
        assert _ids(graphs.generate(prompts, params, use_tqdm=False)) == \
            _ids(eager.generate(prompts, params, use_tqdm=False)), seed


def _kv_and_graph_bytes(enforce_eager: bool) -> tuple[int, int]:
    """The KV cache and graph bytes of a fresh engine in a fresh process (an engine alive in
    this one would hold memory that the next one's budget has to leave out)."""
    code = (f"from folovllm import LLM; r = LLM({QWEN3!r}, device='cuda', load_format='dummy', "
            "skip_tokenizer_init=True, gpu_memory_utilization=0.2, max_model_len=2048, "
            f"max_num_seqs=256, enforce_eager={enforce_eager or None!r}).llm_engine.runner; "
            "print(r.kv_cache_bytes, r.cuda_graphs.memory_bytes if r.cuda_graphs else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout.split()
    return int(out[-2]), int(out[-1])


def test_graph_memory_is_measured_and_left_out_of_the_kv_cache() -> None:
    eager_kv, none = _kv_and_graph_bytes(True)
    graphs_kv, graph_bytes = _kv_and_graph_bytes(False)
    assert none == 0 and graph_bytes > 0
    # The budget leaves out what capturing took in the profiling run: the graphs' pool, and
    # the first capture's one-time costs (workspaces for the capture stream, kernel images),
    # which the second capture, measured here, finds already paid.
    shrink = eager_kv - graphs_kv
    print(f"graphs {graph_bytes / 2**20:.1f} MiB, KV cache smaller by {shrink / 2**20:.1f} MiB")
    assert graph_bytes <= shrink <= graph_bytes + 2**29, (shrink, graph_bytes)


def qwen3_bf16_ids(**engine_kwargs) -> list[list[int]]:
    """Greedy ids of 100 sequences (prompts of 20 to 300 tokens, 16 new tokens each) on the
    Qwen3-0.6B shape in bf16 with random weights; the engine is gone when this returns, so the
    next one's memory budget does not have to leave it out."""
    rng = random.Random(1)
    prompts = [{"prompt_token_ids": [rng.randrange(10, 30000) for _ in range(rng.randint(20, 300))]}
               for _ in range(100)]
    llm = LLM(QWEN3, device="cuda", dtype="bfloat16", load_format="dummy",
              skip_tokenizer_init=True, gpu_memory_utilization=0.4, max_model_len=1024,
              max_num_seqs=128, **engine_kwargs)
    params = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)
    return _ids(llm.generate(prompts, params, use_tqdm=False))


def test_qwen3_shape_bf16_graphs_match_eager() -> None:
    """Real sizes in bf16, 100 sequences decoding (pads to 104)."""
    ref = qwen3_bf16_ids(enforce_eager=True)
    out = qwen3_bf16_ids()
    same = sum(a == b for a, b in zip(out, ref))
    assert same == len(ref), f"{same} of {len(ref)} sequences identical"
