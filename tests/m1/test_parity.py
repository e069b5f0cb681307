"""Greedy token ids identical to ``transformers`` ``generate(do_sample=False)``."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from folovllm import SamplingParams

PROMPTS = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog. Once upon a time",
    "大语言模型",
    "An inference engine schedules requests",
]


def _hf_greedy(model_dir, prompts: list[str], max_new_tokens: int) -> list[list[int]]:
    """The reference: HF generate on a left-padded batch, EOS disabled (like ignore_eos)."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    enc = tok(prompts, return_tensors="pt", padding=True)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                         eos_token_id=None, pad_token_id=pad)
    return out[:, enc.input_ids.shape[1]:].tolist()


@pytest.mark.parametrize("name", ["llama", "qwen2", "qwen3"])
def test_tiny_models_single_and_batch(name, tiny_llms, tiny_model_dirs, assert_no_leftovers) -> None:
    llm = tiny_llms[name]
    params = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True)
    single = llm.generate(PROMPTS[1], params, use_tqdm=False)[0].outputs[0].token_ids
    assert single == _hf_greedy(tiny_model_dirs[name], PROMPTS[1:2], 24)[0]
    batch = llm.generate(PROMPTS, params, use_tqdm=False)
    assert [o.outputs[0].token_ids for o in batch] == _hf_greedy(tiny_model_dirs[name], PROMPTS, 24)
    assert_no_leftovers(llm)


def test_default_model_single_and_batch(default_llm, default_model_dir) -> None:
    params = SamplingParams(temperature=0, max_tokens=16, ignore_eos=True)
    outs = default_llm.generate(PROMPTS, params, use_tqdm=False)
    assert [o.outputs[0].token_ids for o in outs] == _hf_greedy(default_model_dir, PROMPTS, 16)
    single = default_llm.generate(PROMPTS[0], params, use_tqdm=False)[0].outputs[0].token_ids
    assert single == _hf_greedy(default_model_dir, PROMPTS[:1], 16)[0]


def test_default_model_chat_stops_at_eos(default_llm) -> None:
    """Without ignore_eos the reply ends at <|im_end|>: finish_reason stop, EOS kept in ids."""
    out = default_llm.chat([{"role": "user", "content": "What is the capital of France?"}],
                           SamplingParams(temperature=0, max_tokens=40), use_tqdm=False)[0]
    c = out.outputs[0]
    assert "Paris" in c.text and c.finish_reason == "stop" and c.stop_reason is None
    assert c.token_ids[-1] == default_llm.get_tokenizer().eos_token_id
    assert "<|im_end|>" not in c.text
