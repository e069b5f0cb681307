"""The LLM API: prompt forms, per-prompt params, n/best_of, seeds, chat, bad input, metrics."""

from __future__ import annotations

import pytest

from folovllm import SamplingParams
from folovllm.entrypoints.llm import LLM


def test_prompt_forms_and_order(tiny_llms, assert_no_leftovers) -> None:
    llm = tiny_llms["qwen2"]
    tok = llm.get_tokenizer()
    params = SamplingParams(temperature=0, max_tokens=5, ignore_eos=True)
    texts = ["Hello world", "The quick brown fox", "Paged attention"]
    by_text = llm.generate(texts, params, use_tqdm=False)
    by_ids = llm.generate([{"prompt_token_ids": tok(t).input_ids} for t in texts], params,
                          use_tqdm=False)
    assert [o.prompt for o in by_text] == texts
    assert [o.outputs[0].token_ids for o in by_text] == [o.outputs[0].token_ids for o in by_ids]
    assert [o.prompt_token_ids for o in by_text] == [tok(t).input_ids for t in texts]
    one = llm.generate(texts[1], params, use_tqdm=False)
    assert one[0].outputs[0].token_ids == by_text[1].outputs[0].token_ids
    assert_no_leftovers(llm)


def test_per_prompt_params(tiny_llms) -> None:
    llm = tiny_llms["llama"]
    outs = llm.generate(["Hello", "Hello"], [SamplingParams(temperature=0, max_tokens=2, ignore_eos=True),
                                             SamplingParams(temperature=0, max_tokens=7, ignore_eos=True)],
                        use_tqdm=False)
    assert [len(o.outputs[0].token_ids) for o in outs] == [2, 7]
    assert outs[1].outputs[0].token_ids[:2] == outs[0].outputs[0].token_ids


def test_seeded_requests_reproduce_alone_and_in_a_batch(tiny_llms) -> None:
    llm = tiny_llms["qwen3"]
    seeded = SamplingParams(temperature=1.0, seed=7, max_tokens=12, ignore_eos=True)
    alone = llm.generate("Hello world", seeded, use_tqdm=False)[0].outputs[0].token_ids
    again = llm.generate("Hello world", seeded, use_tqdm=False)[0].outputs[0].token_ids
    mixed = llm.generate(
        ["The quick brown fox", "Hello world", "Once upon a time"],
        [SamplingParams(temperature=0.9, max_tokens=20, ignore_eos=True), seeded,
         SamplingParams(temperature=1.2, seed=3, max_tokens=3, ignore_eos=True)],
        use_tqdm=False)[1].outputs[0].token_ids
    assert alone == again == mixed


def test_n_and_best_of(tiny_llms) -> None:
    llm = tiny_llms["llama"]
    out = llm.generate("Hello", SamplingParams(n=3, temperature=1.0, seed=1, max_tokens=6,
                                               ignore_eos=True), use_tqdm=False)[0]
    assert [c.index for c in out.outputs] == [0, 1, 2]
    assert len({tuple(c.token_ids) for c in out.outputs}) > 1  # independent samples
    best = llm.generate("Hello", SamplingParams(n=2, best_of=5, temperature=1.0, seed=1,
                                                max_tokens=6, ignore_eos=True), use_tqdm=False)[0]
    assert len(best.outputs) == 2
    scores = [c.cumulative_logprob for c in best.outputs]
    assert scores == sorted(scores, reverse=True)
    # best_of=5 keeps the 2 best of 5; they are at least as good as the first 2 of n=5
    all5 = llm.generate("Hello", SamplingParams(n=5, temperature=1.0, seed=1, max_tokens=6,
                                                ignore_eos=True), use_tqdm=False)[0]
    assert scores == sorted((c.cumulative_logprob for c in all5.outputs), reverse=True)[:2]


def test_logprobs_in_output(tiny_llms) -> None:
    out = tiny_llms["llama"].generate("Hello", SamplingParams(temperature=0, max_tokens=4, logprobs=3,
                                                              ignore_eos=True), use_tqdm=False)[0]
    c = out.outputs[0]
    assert len(c.logprobs) == 4
    for token, step in zip(c.token_ids, c.logprobs):
        assert token in step and step[token].rank == 1  # greedy picks the top token
        assert 3 <= len(step) <= 4
    assert c.cumulative_logprob == pytest.approx(sum(s[t].logprob for t, s in zip(c.token_ids, c.logprobs)))


def test_metrics(tiny_llms) -> None:
    out = tiny_llms["llama"].generate("Hello", SamplingParams(temperature=0, max_tokens=4, ignore_eos=True),
                                      use_tqdm=False)[0]
    m = out.metrics
    assert m.arrival_time <= m.first_scheduled_time <= m.first_token_time <= m.finished_time
    assert m.ttft > 0 and m.tpot(4) > 0


def test_chat_applies_the_template(tiny_llms) -> None:
    llm = tiny_llms["qwen3"]
    messages = [{"role": "user", "content": "hi"}]
    out = llm.chat(messages, SamplingParams(temperature=0, max_tokens=3, ignore_eos=True),
                   use_tqdm=False)[0]
    expected = llm.get_tokenizer().apply_chat_template(messages, add_generation_prompt=True,
                                                       tokenize=False)
    assert llm.get_tokenizer().decode(out.prompt_token_ids) == expected


_OK = "fine prompt"


@pytest.mark.parametrize("prompts,params,match", [
    ([], None, r"prompts=\[\] is invalid"),
    ([_OK, ""], None, "prompt='' is invalid"),
    ([_OK, {"prompt_token_ids": []}], None, "prompt_token_ids=\\[\\] is invalid"),
    ([_OK, {"prompt_token_ids": [1, 10**6]}], None, r"contains \[1000000\].*\[0, "),
    ([_OK, {"prompt_token_ids": [1, -3]}], None, r"contains \[-3\]"),
    ([_OK, {"prompt_token_ids": list(range(300))}], None, "300 tokens, but max_model_len=256"),
    ([_OK, 42], None, "prompt=42 is invalid"),
    ([_OK, "b"], [SamplingParams()], "1 entries for 2 prompts"),
    ([_OK], "greedy", "expected SamplingParams"),
    ([_OK, "b"], [SamplingParams(), "greedy"], "expected SamplingParams"),
    ([_OK, "b"], [SamplingParams(), SamplingParams(prompt_logprobs=1)], "prompt_logprobs is not supported"),
    ([_OK, "b"], [SamplingParams(), SamplingParams(n=2, best_of=300, temperature=1)],
     "best_of=300 is invalid: .* max_num_seqs=256"),
])
def test_bad_input_fails_before_any_work(tiny_llms, prompts, params, match) -> None:
    llm = tiny_llms["llama"]
    with pytest.raises(ValueError, match=match):
        llm.generate(prompts, params, use_tqdm=False)
    assert not llm.llm_engine.has_unfinished_requests()  # nothing was queued


def test_caller_params_are_not_modified(tiny_llms) -> None:
    params = SamplingParams(temperature=0, max_tokens=2)
    tiny_llms["llama"].generate("Hello", params, use_tqdm=False)
    assert params.all_stop_token_ids == set()


def test_unknown_engine_keyword(tiny_model_dirs) -> None:
    with pytest.raises(ValueError, match="unknown engine argument 'max_tokens'"):
        LLM(str(tiny_model_dirs["llama"]), max_tokens=5)


def test_abort(tiny_llms) -> None:
    engine = tiny_llms["llama"].llm_engine
    keep = engine.add_request("Hello", SamplingParams(temperature=0, max_tokens=3, ignore_eos=True))
    drop = engine.add_request("World", SamplingParams(temperature=0, max_tokens=50, ignore_eos=True))
    engine.step()
    engine.abort_request(drop)
    done = {}
    while engine.has_unfinished_requests():
        for o in engine.step():
            done[o.request_id] = o
    assert done[keep].finished and drop not in done
    assert not engine.output_processor.seq_states     # no text or logprob state is left
    assert not engine.scheduler.waiting and not engine.scheduler.running
    engine.step()                                      # tells the runner what finished
    assert not engine.runner.input_batch.row_of       # no token rows or generators are left
    assert not any(engine.runner.input_batch.generators)
