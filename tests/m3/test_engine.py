"""The engine on the paged cache: block-size and preemption invariance, cache-size errors."""

from __future__ import annotations

import pytest

from folovllm import LLM, SamplingParams
from folovllm.engine.llm_engine import LLMEngine
from tests.m1.test_parity import PROMPTS, _hf_greedy
from tests.m2.test_parity import _mixed_prompts

GREEDY = SamplingParams(temperature=0, max_tokens=20, ignore_eos=True)


def _llm(model_dir, **kw) -> LLM:
    return LLM(str(model_dir), device="cpu", **kw)


def _ids(outs) -> list[list[int]]:
    return [o.outputs[0].token_ids for o in outs]


@pytest.mark.parametrize("block_size", [1, 16, 256])
def test_greedy_equals_transformers_for_any_block_size(block_size, tiny_model_dirs) -> None:
    d = tiny_model_dirs["qwen3"]
    outs = _llm(d, block_size=block_size).generate(PROMPTS, GREEDY, use_tqdm=False)
    assert _ids(outs) == _hf_greedy(d, PROMPTS, GREEDY.max_tokens)


@pytest.mark.parametrize("name", ["llama", "qwen2"])
def test_block_sizes_agree_on_a_mixed_batch(name, tiny_model_dirs) -> None:
    prompts = _mixed_prompts(12, seed=3)
    runs = [_ids(_llm(tiny_model_dirs[name], block_size=bs).generate(prompts, GREEDY,
                                                                    use_tqdm=False))
            for bs in (1, 16, 256)]
    assert runs[0] == runs[1] == runs[2]


def test_a_tiny_cache_forces_preemption_and_changes_nothing(tiny_model_dirs) -> None:
    """24 blocks of 4 tokens hold 96 tokens, enough for the longest sequence (at most 60 prompt
    + 20 generated) but not for 8 at once, so sequences are preempted and recomputed; every
    output, greedy or seeded sampling, is still the same."""
    d = tiny_model_dirs["llama"]
    prompts = _mixed_prompts(8, seed=5)
    params = [GREEDY, SamplingParams(temperature=1.0, seed=7, max_tokens=20, ignore_eos=True)]
    for p in params:
        big = _llm(d, block_size=4).generate(prompts, p, use_tqdm=False)
        small_llm = _llm(d, block_size=4, num_gpu_blocks=24)
        small = small_llm.generate(prompts, p, use_tqdm=False)
        assert small_llm.llm_engine.scheduler.num_preemptions > 0
        assert _ids(small) == _ids(big)
        assert [o.outputs[0].text for o in small] == [o.outputs[0].text for o in big]


def test_more_sequences_run_at_once_than_slots_would_allow(tiny_model_dirs) -> None:
    """256-token slots in the memory of 4 of them: M2 ran 4 at once; paged runs all 16."""
    llm = _llm(tiny_model_dirs["qwen2"], num_gpu_blocks=4 * 256 // 16)
    llm.generate(_mixed_prompts(16, seed=1), GREEDY, use_tqdm=False)
    assert llm.llm_engine.peak_num_running == 16
    assert llm.llm_engine.scheduler.num_preemptions == 0


def test_a_prompt_larger_than_the_cache_errors_without_disturbing_others(tiny_model_dirs) -> None:
    d = tiny_model_dirs["qwen2"]
    engine = LLMEngine.from_engine_args(model=str(d), device="cpu", block_size=4,
                                        num_gpu_blocks=6)
    alone = _ids(_llm(d).generate([{"prompt_token_ids": [5, 6, 7]}], GREEDY, use_tqdm=False))
    engine.add_request({"prompt_token_ids": [5, 6, 7]}, GREEDY, request_id="ok")
    engine.step()
    with pytest.raises(ValueError, match=r"25 tokens, but the whole KV cache holds 24 \(6 blocks"):
        engine.add_request({"prompt_token_ids": list(range(1, 26))}, GREEDY, request_id="big")
    outs = {}
    while engine.has_unfinished_requests():
        for o in engine.step():
            outs[o.request_id] = o
    assert list(outs) == ["ok"] and outs["ok"].outputs[0].token_ids == alone[0]
    llm = _llm(d, block_size=4, num_gpu_blocks=6)
    with pytest.raises(ValueError, match="whole KV cache holds 24"):
        llm.generate(["hi", {"prompt_token_ids": list(range(1, 26))}], GREEDY, use_tqdm=False)
    assert not llm.llm_engine.has_unfinished_requests()   # nothing of the batch was queued


def test_a_sequence_that_outgrows_the_whole_cache_stops_with_length(tiny_model_dirs) -> None:
    """16 tokens of cache, a 5-token prompt: the K/V of positions 0..15 fit, so it generates
    12 tokens (positions 5..16; the last one's K/V is never needed) and stops as "length"."""
    llm = _llm(tiny_model_dirs["qwen3"], block_size=4, num_gpu_blocks=4)
    out = llm.generate([{"prompt_token_ids": [3, 4, 5, 6, 7]}],
                       SamplingParams(temperature=0, max_tokens=100, ignore_eos=True),
                       use_tqdm=False)[0]
    assert len(out.outputs[0].token_ids) == 12 and out.outputs[0].finish_reason == "length"
    assert out.finished


def test_final_only_requests_return_nothing_until_they_finish(tiny_model_dirs) -> None:
    """``LLM.generate`` asks for FINAL_ONLY: building every request's output on every step was
    a large share of the host's time per step at 256 sequences. Streaming keeps CUMULATIVE."""
    from folovllm.sampling_params import RequestOutputKind

    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["qwen2"]), device="cpu")
    final = SamplingParams(temperature=0, max_tokens=5, ignore_eos=True,
                           output_kind=RequestOutputKind.FINAL_ONLY)
    streamed = SamplingParams(temperature=0, max_tokens=5, ignore_eos=True)
    engine.add_request({"prompt_token_ids": [5, 6]}, final, request_id="final")
    engine.add_request({"prompt_token_ids": [5, 6]}, streamed, request_id="stream")
    seen: dict[str, list[int]] = {"final": [], "stream": []}
    while engine.has_unfinished_requests():
        for o in engine.step():
            seen[o.request_id].append(len(o.outputs[0].token_ids))
    assert seen == {"final": [5], "stream": [1, 2, 3, 4, 5]}
    with pytest.raises(ValueError, match="output_kind=1 is invalid"):
        SamplingParams(output_kind=1)


def test_the_leak_check_sees_a_test_s_own_engine_and_can_fail(tiny_model_dirs) -> None:
    """The autouse check in tests/conftest.py holds every engine built during a test until its
    teardown, and check_block_accounting fails on a block held by no running sequence."""
    from tests.conftest import _NEW_ENGINES
    from tests.kv_checks import check_block_accounting

    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["qwen2"]), device="cpu")
    assert any(e is engine for e in _NEW_ENGINES)
    leaked = engine.kv_cache_manager.block_pool.get_new_blocks(1)
    with pytest.raises(AssertionError, match="ref_cnt 1, held by 0"):
        check_block_accounting(engine)
    engine.kv_cache_manager.block_pool.free_blocks(leaked)  # put it back for the real check


def test_bad_stop_ids_are_refused(tiny_model_dirs) -> None:
    d = str(tiny_model_dirs["qwen2"])
    engine = LLMEngine.from_engine_args(model=d, device="cpu")
    with pytest.raises(ValueError, match=r"stop_token_ids contains \[384\]"):
        engine.add_request("hi", SamplingParams(stop_token_ids=[384], min_tokens=2))
    assert not engine.has_unfinished_requests()


def test_a_capped_sibling_does_not_emit_a_final_only_output_early(tiny_model_dirs) -> None:
    from folovllm.sampling_params import RequestOutputKind

    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["qwen3"]), device="cpu",
                                        block_size=2, num_gpu_blocks=6)
    params = SamplingParams(n=2, temperature=1.0, seed=3, max_tokens=50, ignore_eos=True,
                            output_kind=RequestOutputKind.FINAL_ONLY)
    engine.add_request({"prompt_token_ids": [4, 5, 6]}, params, request_id="r")
    seen = []
    while engine.has_unfinished_requests():
        seen += engine.step()
    assert len(seen) == 1 and seen[0].finished
    assert {c.finish_reason for c in seen[0].outputs} == {"length"}
