"""Greedy ids identical to transformers, and batch invariance under continuous batching."""

from __future__ import annotations

import random

import pytest

from folovllm import SamplingParams
from tests.m1.test_parity import PROMPTS, _hf_greedy

GREEDY = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)


@pytest.mark.parametrize("name", ["llama", "qwen2", "qwen3"])
def test_tiny_models_greedy_equals_transformers(name, m2_llms, tiny_model_dirs) -> None:
    outs = m2_llms[name].generate(PROMPTS, GREEDY, use_tqdm=False)
    assert [o.outputs[0].token_ids for o in outs] == _hf_greedy(tiny_model_dirs[name], PROMPTS, 24)


def test_default_model_greedy_equals_transformers(m2_default_llm, default_model_dir) -> None:
    params = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)
    outs = m2_default_llm.generate(PROMPTS, params, use_tqdm=False)
    assert [o.outputs[0].token_ids for o in outs] == _hf_greedy(default_model_dir, PROMPTS, 16)


def _mixed_prompts(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"prompt_token_ids": [rng.randrange(3, 380) for _ in range(rng.randint(1, 60))]}
            for _ in range(n)]


@pytest.mark.parametrize("name", ["llama", "qwen3"])
def test_batch_invariance(name, m2_llms) -> None:
    """A prompt's greedy output is the same alone, inside a batch of 16 mixed-length prompts,
    and when it is added while others are already decoding."""
    llm = m2_llms[name]
    prompts = _mixed_prompts(16, seed=1)
    target = prompts[7]
    lens = [SamplingParams(temperature=0, max_tokens=4 + 3 * i, ignore_eos=True) for i in range(16)]
    alone = llm.generate(target, lens[7], use_tqdm=False)[0].outputs[0].token_ids
    batch = llm.generate(prompts, lens, use_tqdm=False)
    assert batch[7].outputs[0].token_ids == alone

    engine = llm.llm_engine
    for p, sp in zip(prompts[:6], lens[:6]):
        engine.add_request(p, sp)
    for _ in range(5):
        engine.step()  # the first six are decoding now
    late = engine.add_request(target, lens[7])
    done = {}
    while engine.has_unfinished_requests():
        done.update({o.request_id: o for o in engine.step() if o.finished})
    assert done[late].outputs[0].token_ids == alone


def test_continuous_batching_admits_mid_flight(m2_llms) -> None:
    """Unlike M1's static batch, a short request added late finishes before a long early one."""
    engine = m2_llms["llama"].llm_engine
    long = engine.add_request("Hello", SamplingParams(temperature=0, max_tokens=30, ignore_eos=True))
    engine.step()
    short = engine.add_request("World", SamplingParams(temperature=0, max_tokens=2, ignore_eos=True))
    order = []
    while engine.has_unfinished_requests():
        order += [o.request_id for o in engine.step() if o.finished]
    assert order == [short, long]


def test_seeded_sampling_is_batch_invariant_too(m2_llms) -> None:
    llm = m2_llms["qwen2"]
    seeded = SamplingParams(temperature=1.0, seed=3, max_tokens=10, ignore_eos=True)
    alone = llm.generate("Hello world", seeded, use_tqdm=False)[0].outputs[0].token_ids
    mixed = llm.generate(["The quick", "Hello world", "Paged"],
                         [SamplingParams(temperature=0.7, max_tokens=12, ignore_eos=True), seeded,
                          SamplingParams(temperature=0, max_tokens=3)], use_tqdm=False)
    assert mixed[1].outputs[0].token_ids == alone


def test_narrower_kv_cache_dtype_still_generates(tiny_model_dirs) -> None:
    """cache_dtype=bfloat16 under a float32 model: K/V are stored narrower and read back."""
    from folovllm import LLM

    llm = LLM(str(tiny_model_dirs["llama"]), device="cpu", cache_dtype="bfloat16",
              kv_cache_memory_bytes=2**24)
    k = llm.llm_engine.runner.model.model.layers[0].self_attn.attn.k_cache
    assert k.dtype.is_floating_point and k.element_size() == 2
    out = llm.generate(PROMPTS, GREEDY, use_tqdm=False)
    assert all(len(o.outputs[0].token_ids) == 24 for o in out)


def test_skip_tokenizer_init_is_ids_in_ids_out(tiny_model_dirs) -> None:
    from folovllm import LLM

    llm = LLM(str(tiny_model_dirs["qwen3"]), device="cpu", skip_tokenizer_init=True,
              kv_cache_memory_bytes=2**24)
    out = llm.generate({"prompt_token_ids": [5, 6, 7]}, GREEDY, use_tqdm=False)[0].outputs[0]
    assert len(out.token_ids) == 24 and out.text == ""
    with pytest.raises(ValueError, match="text prompts need a tokenizer"):
        llm.generate("hello", GREEDY, use_tqdm=False)
    for bad in (SamplingParams(stop=["x"]), SamplingParams(logprobs=1)):
        with pytest.raises(ValueError, match="need a tokenizer, but skip_tokenizer_init=True"):
            llm.generate({"prompt_token_ids": [5]}, bad, use_tqdm=False)
