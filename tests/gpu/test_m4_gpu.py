"""M4 on CUDA: a query after a cached prefix on the Triton kernels gives the tokens of a full
prefill, on both backends, with and without the cache, and with a cache small enough to evict."""

from __future__ import annotations

import pytest

from folovllm import LLM, SamplingParams

pytestmark = pytest.mark.gpu

GREEDY = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)


def _prompts(block_size: int) -> list[list[int]]:
    prefix = [(13 * i) % 300 + 7 for i in range(3 * block_size + 2)]
    return [prefix[:n] + [350 + j] * (j + 1) for j, n in enumerate(
        (block_size - 1, block_size, block_size + 1, 2 * block_size, 3 * block_size + 2))]


@pytest.mark.parametrize("block_size", [4, 16])
@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_cached_prefix_gives_the_tokens_of_a_full_prefill(tiny_model_dirs, backend,
                                                          block_size) -> None:
    prompts = [{"prompt_token_ids": p} for p in _prompts(block_size)]
    runs = {}
    for caching, blocks in [(False, None), (True, None), (True, 40)]:
        llm = LLM(str(tiny_model_dirs["qwen3"]), device="cuda", dtype="float32",
                  block_size=block_size, attention_backend=backend, num_gpu_blocks=blocks,
                  enable_prefix_caching=caching, gpu_memory_utilization=0.3)
        ids = [llm.generate(p, GREEDY, use_tqdm=False)[0] for p in prompts]  # one by one
        runs[(caching, blocks)] = [o.outputs[0].token_ids for o in ids]
        if caching:
            assert sum(o.num_cached_tokens for o in ids) > 0
    assert runs[(False, None)] == runs[(True, None)] == runs[(True, 40)]
