"""Stop conditions: the scheduler's token-level ``check_stop``, the stop-string search, and both
through the whole engine (EOS, stop ids, stop strings, lengths, min_tokens)."""

from __future__ import annotations

import pytest

from folovllm import SamplingParams
from folovllm.core.scheduler import check_stop
from folovllm.engine.stop_checker import find_stop_string
from folovllm.sequence import Sequence, SequenceData, SequenceStatus

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


def test_stop_string_search_only_looks_at_new_text() -> None:
    """A stop string wholly inside old text was already checked; only new text can complete one."""
    assert find_stop_string("abcSTOPdef", 3, ["STOP"], False) is None  # "def" is new
    text = "abcST" + "OP"                                             # "OP" completes it
    assert find_stop_string(text, 2, ["STOP"], False) == ("STOP", 3)   # cut to "abc"
    assert text[:3] == "abc"
    assert find_stop_string(text, 2, ["STOP"], True) == ("STOP", 7)    # kept with include
    assert find_stop_string(text, 0, ["STOP"], False) is None          # no new text, no search
    assert find_stop_string("xSTOPy", 1, ["zz", "STOP"], False) is None
    assert find_stop_string("xSTOP", 1, ["zz", "TOP", "STOP"], False) == ("TOP", 2)  # list order


def _seq_after(outputs: list[int], prompt: tuple[int, ...] = (1, 2)) -> Sequence:
    seq = Sequence(0, SequenceData(prompt), eos_token_id=0)
    for token in outputs:
        seq.data.append_token_id(token, 0.0)
    return seq


_STOPPED, _CAPPED = SequenceStatus.FINISHED_STOPPED, SequenceStatus.FINISHED_LENGTH_CAPPED


@pytest.mark.parametrize("outputs,params,max_model_len,expected", [
    ([5], SamplingParams(), 100, (None, None)),
    ([5, 0], SamplingParams(), 100, (_STOPPED, None)),                       # EOS
    ([5, 0], SamplingParams(ignore_eos=True), 100, (None, None)),
    ([5, 9], SamplingParams(stop_token_ids=[9]), 100, (_STOPPED, 9)),        # a stop id
    ([0], SamplingParams(stop_token_ids=[0]), 100, (_STOPPED, None)),        # EOS is checked first
    ([0], SamplingParams(ignore_eos=True, stop_token_ids=[0]), 100, (_STOPPED, 0)),
    ([5, 0], SamplingParams(min_tokens=3), 100, (None, None)),               # min_tokens holds EOS
    ([5, 9], SamplingParams(min_tokens=3, stop_token_ids=[9]), 100, (None, None)),
    ([5, 5, 0], SamplingParams(min_tokens=3), 100, (_STOPPED, None)),        # ... until reached
    ([5, 0], SamplingParams(min_tokens=3), 4, (_CAPPED, None)),              # but not max_model_len
    ([5, 5], SamplingParams(max_tokens=2), 100, (_CAPPED, None)),            # max_tokens
    ([5, 0], SamplingParams(max_tokens=2), 100, (_STOPPED, None)),           # EOS before max_tokens
    ([5, 9], SamplingParams(max_tokens=2, stop_token_ids=[9]), 100, (_STOPPED, 9)),
    ([5, 5], SamplingParams(max_tokens=2, min_tokens=2), 100, (_CAPPED, None)),
    ([5, 5], SamplingParams(max_tokens=None), 4, (_CAPPED, None)),           # max_model_len
    ([5], SamplingParams(max_tokens=None), 4, (None, None)),
    ([5, 0], SamplingParams(), 4, (_STOPPED, None)),                         # EOS before the cap
])
def test_check_stop_order(outputs, params, max_model_len, expected) -> None:
    """vLLM's order: only max_model_len stops a sequence shorter than min_tokens; then EOS
    (unless ignore_eos), a stop token id (reported as the stop reason), max_tokens, max_model_len."""
    assert check_stop(_seq_after(outputs), params, max_model_len) == expected


def test_a_stop_string_in_the_last_allowed_token_wins_over_max_tokens(default_llm,
                                                                      reference) -> None:
    """The token that completes a stop string is also the max_tokens-th: the reason is the stop
    string (vLLM's order), and the text is cut before it."""
    out, pieces = reference
    stop, start = _boundary_stop(pieces)
    n = next(k for k in range(1, len(pieces) + 1) if stop in pieces[k - 1])
    params = SamplingParams(temperature=0, max_tokens=n, ignore_eos=True, stop=[stop])
    c = default_llm.generate(PROMPT, params, use_tqdm=False)[0].outputs[0]
    assert c.token_ids == out.token_ids[:n]
    assert c.finish_reason == "stop" and c.stop_reason == stop and c.text == out.text[:start]


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
