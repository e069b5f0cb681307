"""LLMEngine's step API and the HF runner's static batch, driven directly."""

from __future__ import annotations

import torch

from folovllm import SamplingParams
from folovllm.engine.llm_engine import LLMEngine
from folovllm.worker.hf_runner import HFModelRunner


def test_left_padding_positions_and_mask(tiny_model_dirs) -> None:
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["llama"]), device="cpu",
                                        model_impl="transformers")
    runner: HFModelRunner = engine.runner
    logits = runner.prefill([[5, 6, 7], [8]])
    assert logits.shape == (2, engine.config.model_config.vocab_size)
    assert runner._attention_mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert runner._next_position.tolist() == [3, 1]  # positions count real tokens only
    runner.decode([9, 9])
    assert runner._attention_mask.tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    assert runner._next_position.tolist() == [4, 2]
    # the padded row's logits equal the same prompt run alone
    alone = runner.prefill([[8]])
    torch.testing.assert_close(logits[1], alone[0], rtol=1e-5, atol=1e-5)


def test_step_returns_outputs_of_every_advanced_request(tiny_model_dirs) -> None:
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["qwen2"]), device="cpu",
                                        model_impl="transformers")
    a = engine.add_request("Hello", SamplingParams(temperature=0, max_tokens=2, ignore_eos=True))
    b = engine.add_request("World", SamplingParams(temperature=0, max_tokens=3, ignore_eos=True))
    first = engine.step()
    assert {o.request_id for o in first} == {a, b} and not any(o.finished for o in first)
    assert [len(o.outputs[0].token_ids) for o in first] == [1, 1]
    second = engine.step()
    assert {o.request_id: o.finished for o in second} == {a: True, b: False}
    third = engine.step()  # a is finished: only b advances
    assert [(o.request_id, o.finished) for o in third] == [(b, True)]
    assert not engine.has_unfinished_requests() and engine.step() == []


def test_max_num_seqs_splits_static_batches(tiny_model_dirs) -> None:
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["llama"]), device="cpu",
                                        max_num_seqs=2, model_impl="transformers")
    ids = [engine.add_request(p, SamplingParams(temperature=0, max_tokens=2, ignore_eos=True))
           for p in ("a", "b", "c")]
    first = engine.step()
    assert {o.request_id for o in first} == set(ids[:2])  # the third waits for the next batch
    finished = []
    while engine.has_unfinished_requests():
        finished += [o.request_id for o in engine.step() if o.finished]
    assert finished == ids
