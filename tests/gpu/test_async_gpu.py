"""Async scheduling on CUDA: with the GPU running step N while the host schedules step N+1, the
outputs are those of synchronous steps, with CUDA graphs and eager steps, with the prefix cache,
chunked prefill and preemption on, for seeded sampling, stop tokens, logprobs, penalties and
n > 1, at batch sizes that replay every kind of graph, and on the Qwen3-0.6B shape in bf16."""

from __future__ import annotations

import random

import pytest

from folovllm import LLM, SamplingParams
from tests.gpu.test_m6_gpu import qwen3_bf16_ids
from tests.m6.test_async_scheduling import SMALL, check_every_kind_of_request

pytestmark = pytest.mark.gpu


def _pair(model: str, **kw) -> tuple[LLM, LLM]:
    common = dict(device="cuda", gpu_memory_utilization=0.3, **kw)
    return (LLM(model, async_scheduling=False, **common),
            LLM(model, async_scheduling=True, **common))


@pytest.mark.parametrize("eager", [False, True])
@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_async_gives_the_outputs_of_synchronous_steps_on_cuda(tiny_model_dirs, arch,
                                                              eager) -> None:
    engine = check_every_kind_of_request(*_pair(
        str(tiny_model_dirs[arch]), dtype="float32", enforce_eager=eager or None, **SMALL))
    if not eager:
        assert engine.runner.cuda_graphs.num_replays > 0


def test_async_is_the_default_on_cuda_and_matches_at_every_batch_size(tiny_model_dirs) -> None:
    sync, fast = _pair(str(tiny_model_dirs["llama"]), dtype="float32", max_num_seqs=256)
    fast_default = LLM(str(tiny_model_dirs["llama"]), device="cuda", dtype="float32",
                       gpu_memory_utilization=0.2, max_num_seqs=8)
    assert fast_default.llm_engine.config.scheduler_config.async_scheduling
    for n in (1, 3, 13, 64, 255):
        rng = random.Random(n)
        prompts = [{"prompt_token_ids": [rng.randrange(3, 380) for _ in range(rng.randint(1, 90))]}
                   for _ in range(n)]
        params = [SamplingParams(temperature=0, max_tokens=rng.randint(1, 24), ignore_eos=True)
                  for _ in range(n)]
        assert [o.outputs[0].token_ids for o in fast.generate(prompts, params, use_tqdm=False)] \
            == [o.outputs[0].token_ids for o in sync.generate(prompts, params, use_tqdm=False)], n


def test_qwen3_shape_bf16_async_matches_sync() -> None:
    """Real sizes in bf16, 100 sequences decoding with graphs: the tokens of synchronous steps."""
    ref = qwen3_bf16_ids(async_scheduling=False)
    out = qwen3_bf16_ids()
    same = sum(a == b for a, b in zip(out, ref))
    assert same == len(ref), f"{same} of {len(ref)} sequences identical"
