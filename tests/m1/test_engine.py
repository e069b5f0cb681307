"""LLMEngine's step API, and the HF runner's static batch driven directly."""

from __future__ import annotations

import torch

from folovllm import SamplingParams
from folovllm.config import ModelConfig
from folovllm.engine.llm_engine import LLMEngine
from folovllm.worker.hf_runner import HFModelRunner

PAD = 0  # any id: the attention mask hides the pads


def _runner(model_dir) -> HFModelRunner:
    return HFModelRunner(ModelConfig(model=str(model_dir), device="cpu"), pad_token_id=PAD)


def test_left_padding_positions_and_mask(tiny_model_dirs) -> None:
    runner = _runner(tiny_model_dirs["llama"])
    logits = runner.prefill([[5, 6, 7], [8]])
    assert logits.shape == (2, runner.model.config.vocab_size)
    assert runner._attention_mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    assert runner._next_position.tolist() == [3, 1]  # positions count real tokens only
    runner.decode([9, 9])
    assert runner._attention_mask.tolist() == [[1, 1, 1, 1], [0, 0, 1, 1]]
    assert runner._next_position.tolist() == [4, 2]
    # the padded row's logits equal the same prompt run alone
    alone = runner.prefill([[8]])
    torch.testing.assert_close(logits[1], alone[0], rtol=1e-5, atol=1e-5)


def test_static_batch_generate_matches_transformers(tiny_model_dirs) -> None:
    """Rows finish at their own length, the batch runs to the longest, as HF ``generate``."""
    runner = _runner(tiny_model_dirs["qwen2"])
    tokens = runner.generate([[5, 6, 7], [8]], max_tokens=[2, 5])
    ids = torch.tensor([[5, 6, 7], [PAD, PAD, 8]])
    with torch.inference_mode():
        ref = runner.model.generate(input_ids=ids, attention_mask=(ids != PAD).long(),
                                    max_new_tokens=5, do_sample=False, eos_token_id=None,
                                    pad_token_id=PAD)[:, 3:].tolist()
    assert tokens == [ref[0][:2], ref[1]]
    assert runner._cache is None  # the cache lives as long as its batch


def test_a_late_request_waits_for_the_static_batch(tiny_model_dirs) -> None:
    """Static batching: a padded batch cannot take a row, so a late request runs only after the
    whole batch; starting its batch (a prefill) drops the running batch's cache."""
    runner = _runner(tiny_model_dirs["llama"])
    first = runner.prefill([[5, 6, 7]]).argmax(-1).tolist()
    runner.decode(first)
    runner.prefill([[8]])  # the late request's batch replaces the running one
    assert runner._attention_mask.tolist() == [[1]] and runner._cache.get_seq_length() == 1
    forwards = []
    runner.model.register_forward_hook(lambda *_: forwards.append(len(forwards) + 1))
    done = {}
    for name, prompt, n in [("first", [5, 6, 7], 6), ("late", [8], 2)]:
        runner.generate([prompt], [n])
        done[name] = len(forwards)
    assert done == {"first": 6, "late": 8}  # the late one's two steps follow all six of the batch


def test_step_returns_outputs_of_every_advanced_request(tiny_model_dirs) -> None:
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["qwen2"]), device="cpu")
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


def test_max_num_seqs_caps_the_batch(tiny_model_dirs) -> None:
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["llama"]), device="cpu",
                                        max_num_seqs=2)
    ids = [engine.add_request(p, SamplingParams(temperature=0, max_tokens=2, ignore_eos=True))
           for p in ("a", "b", "c")]
    first = engine.step()
    assert {o.request_id for o in first} == set(ids[:2])  # the third waits for a free place
    finished = []
    while engine.has_unfinished_requests():
        finished += [o.request_id for o in engine.step() if o.finished]
    assert finished == ids
