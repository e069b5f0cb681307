"""M5 on CUDA: the flat batch that mixes decodes with prompt chunks gives the tokens of whole
prefills on both backends, with the prefix cache and under preemption, and the Qwen3-0.6B shape
in bf16 matches its unchunked self."""

from __future__ import annotations

import random

import pytest

from folovllm import LLM, SamplingParams

pytestmark = pytest.mark.gpu

GREEDY = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)
QWEN3 = "folovllm/benchmarks/configs/qwen3-0.6b"   # config.json only: dummy weights


def _prompts(n: int, seed: int, hi: int = 200) -> list[dict]:
    rng = random.Random(seed)
    return [{"prompt_token_ids": [rng.randrange(3, 380) for _ in range(rng.randint(1, hi))]}
            for _ in range(n)]


def _ids(outs) -> list[list[int]]:
    return [c.token_ids for o in outs for c in o.outputs]


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_chunks_mixed_with_decodes_give_the_tokens_of_whole_prefills(tiny_model_dirs,
                                                                     backend) -> None:
    prompts = _prompts(12, seed=0)
    common = dict(device="cuda", dtype="float32", block_size=16, attention_backend=backend,
                  gpu_memory_utilization=0.3, max_num_seqs=8)
    d = str(tiny_model_dirs["qwen3"])
    ref = _ids(LLM(d, enable_chunked_prefill=False, enable_prefix_caching=False,
                   **common).generate(prompts, GREEDY, use_tqdm=False))
    for budget, blocks in [(16, None), (64, None), (256, None), (64, 30)]:
        llm = LLM(d, max_num_batched_tokens=budget, num_gpu_blocks=blocks, **common)
        assert _ids(llm.generate(prompts, GREEDY, use_tqdm=False)) == ref, (budget, blocks)
        if blocks:
            assert llm.llm_engine.scheduler.num_preemptions > 0


def test_qwen3_shape_bf16_chunked_matches_unchunked() -> None:
    """Real sizes (16 query heads over 8 KV heads, head_dim 128) in bf16: long prompts in
    chunks of 512 while short requests decode, against whole prefills."""
    rng = random.Random(1)
    prompts = [{"prompt_token_ids": [rng.randrange(10, 30000) for _ in range(n)]}
               for n in (3000, 40, 700, 12, 1500, 90)]
    common = dict(device="cuda", dtype="bfloat16", load_format="dummy", skip_tokenizer_init=True,
                  gpu_memory_utilization=0.5, max_model_len=4096, max_num_seqs=8)
    whole = LLM(QWEN3, enable_chunked_prefill=False, **common)
    ref = _ids(whole.generate(prompts, GREEDY, use_tqdm=False))
    del whole
    chunked = LLM(QWEN3, max_num_batched_tokens=512, **common)
    assert _ids(chunked.generate(prompts, GREEDY, use_tqdm=False)) == ref
