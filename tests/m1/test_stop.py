"""Stop conditions through the whole engine: EOS, stop ids, stop strings, lengths, min_tokens."""

from __future__ import annotations

import pytest

from folovllm import SamplingParams
from folovllm.engine.stop_checker import StopChecker
from folovllm.sequence import Sequence, SequenceData

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def reference(default_llm):
    """The unconstrained greedy continuation, its tokens and their texts."""
    out = default_llm.generate(PROMPT, SamplingParams(temperature=0, max_tokens=24, ignore_eos=True),
                               use_tqdm=False)[0].outputs[0]
    tok = default_llm.get_tokenizer()
    pieces = [tok.decode(out.token_ids[: i + 1]) for i in range(len(out.token_ids))]
    return out, pieces


def _boundary_stop(pieces: list[str]) -> tuple[str, int]:
    """A stop string that starts inside one token and ends inside the next."""
    for i in range(2, len(pieces) - 1):
        a, b = pieces[i - 1], pieces[i]
        new = b[len(a):]
        prev = a[len(pieces[i - 2]):]
        if len(prev) >= 2 and len(new) >= 2 and prev[-2:].strip() and new[:2].strip():
            return prev[-2:] + new[:2], len(a) - 2
    raise AssertionError("no suitable token boundary in the reference text")


@pytest.mark.parametrize("include", [False, True])
def test_stop_string_across_a_token_boundary(default_llm, reference, include) -> None:
    out, pieces = reference
    stop, start = _boundary_stop(pieces)
    params = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True, stop=["zzzq", stop],
                            include_stop_str_in_output=include)
    c = default_llm.generate(PROMPT, params, use_tqdm=False)[0].outputs[0]
    assert c.finish_reason == "stop" and c.stop_reason == stop
    assert c.text == out.text[: start + (len(stop) if include else 0)]
    assert c.token_ids == out.token_ids[: len(c.token_ids)]


def test_stop_token_ids(default_llm, reference) -> None:
    out, _ = reference
    target = out.token_ids[5]
    c = default_llm.generate(PROMPT, SamplingParams(temperature=0, max_tokens=24, ignore_eos=True,
                                                    stop_token_ids=[target]), use_tqdm=False)[0].outputs[0]
    first = out.token_ids.index(target)
    assert c.token_ids == out.token_ids[: first + 1]  # the stop token is kept in the ids ...
    assert c.finish_reason == "stop" and c.stop_reason == target
    tok = default_llm.get_tokenizer()
    assert c.text == tok.decode(out.token_ids[:first])  # ... but its text is not in the output
    kept = default_llm.generate(PROMPT, SamplingParams(
        temperature=0, max_tokens=24, ignore_eos=True, stop_token_ids=[target],
        include_stop_str_in_output=True), use_tqdm=False)[0].outputs[0]
    assert kept.text == tok.decode(out.token_ids[: first + 1])


def test_max_tokens_is_length(default_llm, reference) -> None:
    out, _ = reference
    c = default_llm.generate(PROMPT, SamplingParams(temperature=0, max_tokens=3, ignore_eos=True),
                             use_tqdm=False)[0].outputs[0]
    assert c.token_ids == out.token_ids[:3] and c.finish_reason == "length" and c.stop_reason is None


def test_min_tokens_suppresses_eos(default_llm) -> None:
    chat = [{"role": "user", "content": "What is the capital of France?"}]
    short = default_llm.chat(chat, SamplingParams(temperature=0, max_tokens=40), use_tqdm=False)
    n = len(short[0].outputs[0].token_ids)
    assert short[0].outputs[0].finish_reason == "stop"
    longer = default_llm.chat(chat, SamplingParams(temperature=0, max_tokens=40, min_tokens=n + 3),
                              use_tqdm=False)[0].outputs[0]
    eos = default_llm.get_tokenizer().eos_token_id
    assert len(longer.token_ids) >= n + 3
    assert eos not in longer.token_ids[: n + 3 - 1]


def test_max_model_len_caps_generation(tiny_model_dirs) -> None:
    from folovllm.entrypoints.llm import LLM

    llm = LLM(str(tiny_model_dirs["llama"]), device="cpu", max_model_len=20)
    prompt = {"prompt_token_ids": list(range(10, 25))}  # 15 tokens
    c = llm.generate(prompt, SamplingParams(temperature=0, max_tokens=100, ignore_eos=True),
                     use_tqdm=False)[0].outputs[0]
    assert len(c.token_ids) == 5 and c.finish_reason == "length"


def test_stop_checker_window_only_searches_new_text() -> None:
    """A stop string wholly inside old text was already checked; only new text can complete one."""
    seq = Sequence(0, SequenceData((1,)))
    seq.data.append_token_id(5, 0.0)
    seq.output_text = "abcSTOPdef"
    params = SamplingParams(stop=["STOP"], max_tokens=100)
    assert StopChecker(1000).check(seq, params, new_char_count=3) is None  # "def" is new
    seq.output_text = "abcST" + "OP"
    assert StopChecker(1000).check(seq, params, new_char_count=2) is not None
    assert seq.output_text == "abc" and seq.stop_reason == "STOP"


def test_max_model_len_beats_min_tokens(tiny_model_dirs) -> None:
    from folovllm.entrypoints.llm import LLM

    llm = LLM(str(tiny_model_dirs["llama"]), device="cpu", max_model_len=20)
    prompt = {"prompt_token_ids": list(range(10, 25))}  # 15 tokens: room for 5
    c = llm.generate(prompt, SamplingParams(temperature=0, max_tokens=50, min_tokens=10),
                     use_tqdm=False)[0].outputs[0]
    assert len(c.token_ids) == 5 and c.finish_reason == "length"


def test_engine_holds_back_a_possible_stop_string_while_streaming(default_llm, reference) -> None:
    """Every streamed text is a prefix of the final text: nothing shown is taken back."""
    out, pieces = reference
    stop, _ = _boundary_stop(pieces)
    engine = default_llm.llm_engine
    params = SamplingParams(temperature=0, max_tokens=24, ignore_eos=True, stop=[stop])
    rid = engine.add_request(PROMPT, params)
    seen = []
    while engine.has_unfinished_requests():
        seen += [o.outputs[0].text for o in engine.step() if o.request_id == rid]
    final = seen[-1]
    assert all(final.startswith(t) for t in seen)
    assert all(len(a) <= len(b) for a, b in zip(seen, seen[1:]))
    assert stop not in final


def test_generation_config_eos_ids_stop_too(tiny_model_dirs, tmp_path) -> None:
    """End-of-turn ids from generation_config.json stop like stop_token_ids (vLLM's rule)."""
    import json
    import shutil

    from folovllm.entrypoints.llm import LLM

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dirs["llama"], d)
    greedy = SamplingParams(temperature=0, max_tokens=12)
    ref = LLM(str(d), device="cpu").generate("Hello", SamplingParams(
        temperature=0, max_tokens=12, ignore_eos=True), use_tqdm=False)[0].outputs[0].token_ids
    target = ref[3]
    eos = LLM(str(d), device="cpu").get_tokenizer().eos_token_id
    (d / "generation_config.json").write_text(json.dumps({"eos_token_id": [eos, target]}))
    llm = LLM(str(d), device="cpu")
    c = llm.generate("Hello", greedy, use_tqdm=False)[0].outputs[0]
    first = ref.index(target)
    assert c.token_ids == ref[: first + 1] and c.stop_reason == target
    ignored = llm.generate("Hello", SamplingParams(temperature=0, max_tokens=12, ignore_eos=True),
                           use_tqdm=False)[0].outputs[0]
    assert ignored.token_ids == ref
