"""Incremental detokenization equals decoding the whole output, for multi-byte text too."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from folovllm.engine.detokenizer import IncrementalDetokenizer

TEXTS = [
    "Hello world, how are you today?",
    "大语言模型推理引擎 调度 请求",        # 3-byte characters split over byte-level tokens
    "emoji 🚀🎉 and accents: café naïve",  # 4-byte characters
    "mixed 中文 and English 混合 text.",
]


def _incremental(tok, prompt_ids: list[int], output_ids: list[int], skip: bool) -> list[str]:
    detok = IncrementalDetokenizer(tok)
    state = detok.init_state(prompt_ids, skip)
    return [detok.step(state, t, skip) for t in output_ids]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("model", ["tiny", "default"])
def test_round_trip(text, model, tiny_model_dirs, default_model_dir) -> None:
    path = tiny_model_dirs["llama"] if model == "tiny" else default_model_dir
    tok = AutoTokenizer.from_pretrained(path)
    prompt = tok("Q:").input_ids
    ids = tok(text, add_special_tokens=False).input_ids
    pieces = _incremental(tok, prompt, ids, skip=True)
    assert "".join(pieces) == tok.decode(ids) == text
    assert not any("\ufffd" in p for p in pieces)


def test_partial_characters_are_held_back(tiny_model_dirs) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_model_dirs["llama"])
    ids = tok("模", add_special_tokens=False).input_ids
    assert len(ids) > 1  # the tiny vocabulary splits the character into bytes
    pieces = _incremental(tok, tok("a").input_ids, ids, skip=True)
    assert pieces[:-1] == [""] * (len(ids) - 1) and pieces[-1] == "模"


def test_skip_special_tokens(default_model_dir) -> None:
    tok = AutoTokenizer.from_pretrained(default_model_dir)
    ids = tok("Hi there", add_special_tokens=False).input_ids + [tok.eos_token_id]
    prompt = tok("Q:").input_ids
    assert "".join(_incremental(tok, prompt, ids, skip=True)) == "Hi there"
    assert "".join(_incremental(tok, prompt, ids, skip=False)) == "Hi there<|im_end|>"
