"""Reliability: bad input refused before any work, a failing step loses nothing, every
config field that changes the outputs honoured or refused, a light default footprint.

One section per class of defect; each case is a *class* (more values of each are drawn by the
hypothesis tests at the end), not one example.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from folovllm import LLM, SamplingParams
from tests.m1.test_parity import PROMPTS, _hf_greedy
from tests.tiny_models import build_tiny_model

GREEDY = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)


def _llm(model_dir, **kw) -> LLM:
    return LLM(str(model_dir), device="cpu", **kw)


def _ids(outs) -> list[list[int]]:
    return [o.outputs[0].token_ids for o in outs]


# ---- 1. config fields: honoured (same tokens as transformers) or refused -------------------
HONOURED = {
    "llama-gelu": ("llama", dict(hidden_act="gelu")),
    "llama-gelu-tanh": ("llama", dict(hidden_act="gelu_pytorch_tanh")),
    "llama-relu": ("llama", dict(hidden_act="relu")),
    "llama-linear-rope": ("llama", dict(rope_parameters=dict(rope_type="linear", factor=4.0,
                                                             rope_theta=10000.0))),
    "llama-biases": ("llama", dict(attention_bias=True, mlp_bias=True)),
    "llama-head-dim-eps": ("llama", dict(head_dim=8, rms_norm_eps=1e-2)),
    "qwen2-attention-bias-field": ("qwen2", dict(attention_bias=True)),  # not read, as in HF
    "qwen3-biases": ("qwen3", dict(attention_bias=True)),
    "qwen2-untied": ("qwen2", dict(tie_word_embeddings=False)),
}


@pytest.mark.parametrize("case", sorted(HONOURED))
def test_config_fields_that_change_outputs_are_honoured(case, tmp_path) -> None:
    name, overrides = HONOURED[case]
    d = build_tiny_model(name, tmp_path / case, **overrides)
    outs = _llm(d).generate(PROMPTS, GREEDY, use_tqdm=False)
    assert _ids(outs) == _hf_greedy(d, PROMPTS, GREEDY.max_tokens)


REFUSED = {
    "hidden_act": ("llama", {"hidden_act": "swish_banana"}, "hidden_act='swish_banana'"),
    "rope yarn": ("llama", {"rope_parameters": {"rope_type": "yarn", "factor": 2.0,
                                                "rope_theta": 1e4}}, "rope_type='yarn'"),
    "rope dynamic": ("qwen2", {"rope_scaling": {"type": "dynamic", "factor": 2.0}},
                     "rope_type='dynamic'"),
    "rope longrope": ("qwen3", {"rope_parameters": {"rope_type": "longrope", "rope_theta": 1e4,
                                                    "short_factor": [1.0] * 16,
                                                    "long_factor": [2.0] * 16}},
                      "rope_type='longrope'"),
    "unreadable rope": ("qwen3", {"rope_parameters": {"rope_type": "longrope"}},
                        "transformers cannot read its config.json"),
    "partial rotary": ("llama", {"rope_parameters": {"rope_type": "linear", "factor": 2.0,
                                                     "rope_theta": 1e4,
                                                     "partial_rotary_factor": 0.5}},
                       "partial_rotary_factor=0.5"),
    "sliding window": ("qwen2", {"use_sliding_window": True, "sliding_window": 16,
                                 "max_window_layers": 0}, "use_sliding_window=True"),
    "sliding layers": ("qwen3", {"layer_types": ["sliding_attention", "full_attention"],
                                 "sliding_window": 16}, "sliding_attention"),
    "quantized": ("llama", {"quantization_config": {"quant_method": "gptq", "bits": 4}},
                  "quantization_config \\(quant_method='gptq'\\)"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_config_fields_that_are_not_implemented_are_refused_at_load(case, tmp_path,
                                                                     tiny_model_dirs) -> None:
    name, fields, match = REFUSED[case]
    d = tmp_path / "model"
    shutil.copytree(tiny_model_dirs[name], d)
    cfg = json.loads((d / "config.json").read_text())
    cfg.pop("rope_parameters", None) if "rope_scaling" in fields else None
    (d / "config.json").write_text(json.dumps({**cfg, **fields}))
    with pytest.raises(ValueError, match=match):
        _llm(d)


# ---- 2. an embedding larger than the tokenizer (Qwen2.5 / Qwen3 checkpoints) ---------------
@pytest.fixture(scope="module")
def wide_vocab_dir(tmp_path_factory) -> Path:
    """A tiny Llama whose embedding has 64 more rows than its tokenizer has tokens."""
    root = tmp_path_factory.mktemp("wide_vocab")
    tok_len = len(AutoTokenizer.from_pretrained(build_tiny_model("llama", root / "probe")))
    return build_tiny_model("llama", root / "wide", vocab_size=tok_len + 64)


def test_ids_past_the_tokenizer_are_served_like_transformers(wide_vocab_dir) -> None:
    tok = AutoTokenizer.from_pretrained(wide_vocab_dir)
    gap = len(tok) + 10                        # the model embeds it; the tokenizer has no text
    llm = _llm(wide_vocab_dir)
    prompt = {"prompt_token_ids": [*tok("Hello world").input_ids, gap, gap + 1]}
    out = llm.generate(prompt, GREEDY, use_tqdm=False)[0].outputs[0]
    ref = _hf_greedy_ids(wide_vocab_dir, prompt["prompt_token_ids"], GREEDY.max_tokens)
    assert out.token_ids == ref
    # sampling from the whole embedding draws ids the tokenizer does not know: never a crash,
    # and the text is what transformers' decode makes of the same ids
    params = SamplingParams(temperature=5.0, seed=3, max_tokens=40, ignore_eos=True, logprobs=2)
    sampled = llm.generate("Hello", params, use_tqdm=False)[0].outputs[0]
    assert any(t >= len(tok) for t in sampled.token_ids)
    assert sampled.text == tok.decode(sampled.token_ids, skip_special_tokens=True)
    with pytest.raises(ValueError, match=r"token ids must be ints in \[0, "):
        llm.generate({"prompt_token_ids": [1, llm.llm_engine.config.model_config.vocab_size]})


def _hf_greedy_ids(model_dir, ids: list[int], n: int) -> list[int]:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                         max_new_tokens=n, do_sample=False, eos_token_id=None, pad_token_id=0)
    return out[0, len(ids):].tolist()


# ---- 3. bounds: every field, at construction and again when the request is added ----------
@pytest.fixture(scope="module")
def tiny(tiny_model_dirs) -> LLM:
    return _llm(tiny_model_dirs["qwen2"], max_num_seqs=8)


@pytest.mark.parametrize("field,value,match", [
    ("top_k", 10**30, r"top_k=1000000000000000000000000000000 is invalid: must be in \[-1, \d+\]"),
    ("logprobs", 21, r"logprobs=21 is invalid: must be in \[0, 20\] \(the engine's max_logprobs\)"),
    ("prompt_logprobs", 50, r"prompt_logprobs=50 is invalid: must be in \[0, 20\]"),
    ("stop_token_ids", [10**20], r"stop_token_ids contains \[100000000000000000000\]"),
    ("best_of", 9, "best_of=9 is invalid: it must not exceed max_num_seqs=8"),
])
def test_engine_bounds_are_checked_when_a_request_is_added(tiny, field, value, match) -> None:
    kw = {field: value, "temperature": 1.0} if field == "best_of" else {field: value}
    with pytest.raises(ValueError, match=match):
        tiny.generate("Hello", SamplingParams(**kw), use_tqdm=False)
    assert not tiny.llm_engine.has_unfinished_requests()


def test_max_logprobs_is_an_engine_setting(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["qwen3"], max_logprobs=30)
    out = llm.generate("Hello", SamplingParams(max_tokens=2, logprobs=25), use_tqdm=False)[0]
    assert all(len(step) >= 25 for step in out.outputs[0].logprobs)
    with pytest.raises(ValueError, match="max_logprobs=-1 is invalid"):
        _llm(tiny_model_dirs["qwen3"], max_logprobs=-1)


@pytest.mark.parametrize("field,value,match", [
    ("temperature", math.nan, "temperature=nan is invalid: must be a finite number"),
    ("top_p", math.inf, "top_p=inf is invalid"),
    ("seed", 2**64, "seed=18446744073709551616 is invalid"),
    ("top_k", 10**30, "top_k=1000000000000000000000000000000 is invalid"),
    ("max_tokens", "many", "max_tokens='many' is invalid: must be an integer"),
    ("stop", 7, "stop=7 is invalid"),
    ("min_tokens", 10**9, r"min_tokens=1000000000 is invalid: must be in \[0, 16\]"),
])
def test_a_field_changed_after_construction_is_checked_again(tiny, field, value, match) -> None:
    params = SamplingParams(max_tokens=16)
    setattr(params, field, value)            # past __post_init__: the engine must still catch it
    with pytest.raises(ValueError, match=match):
        tiny.generate(["Hello", "World"], params, use_tqdm=False)
    assert not tiny.llm_engine.has_unfinished_requests()


# ---- 5. wrong types at the API boundary ---------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda llm: llm.generate(None), "prompts=None is invalid: expected a string"),
    (lambda llm: llm.generate(5), "prompts=5 is invalid"),
    (lambda llm: llm.generate({"text": "hi"}), "prompt=.* is invalid: expected a string or a dict"),
    (lambda llm: llm.generate([None]), "prompt=None is invalid"),
    (lambda llm: llm.generate(["hi", 3]), "prompt=3 is invalid"),
    (lambda llm: llm.generate([{"prompt": 7}]), "prompt=7 is invalid: must be a non-empty string"),
    (lambda llm: llm.generate(["ok", {"prompt": "hi", "cache_slat": "a"}]),
     r"prompt=.* is invalid: unknown keys \['cache_slat'\]"),
    (lambda llm: llm.generate({"prompt": "hi", "prompt_token_ids": [1, 2]}),
     "prompt=.* is invalid: give 'prompt' or 'prompt_token_ids', not both"),
    (lambda llm: llm.generate("hi", 0.5), "sampling_params=0.5 is invalid"),
    (lambda llm: llm.generate("hi", [None]), "sampling_params=None is invalid"),
    (lambda llm: llm.generate("hi", {"temperature": 0}), "sampling_params=.* is invalid"),
    (lambda llm: llm.chat(None), "messages=None is invalid"),
    (lambda llm: llm.chat("hi"), "messages='hi' is invalid"),
    (lambda llm: llm.chat([]), r"messages=\[\] is invalid"),
    (lambda llm: llm.chat([[]]), r"messages=\[\[\]\] is invalid"),
    (lambda llm: llm.chat([{"role": "user"}]), "message .* is invalid"),
    (lambda llm: llm.chat([{"role": "user", "content": 5}]), "message .* is invalid"),
    (lambda llm: llm.chat([{"role": "user", "name": "x"}]), "message .* is invalid"),
])
def test_wrong_types_get_one_clear_error_naming_the_argument(tiny, call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call(tiny)
    assert not tiny.llm_engine.has_unfinished_requests()


# ---- 6. request ids and all-or-nothing generate -------------------------------------------
def test_automatic_ids_never_collide_with_a_callers_ids(tiny) -> None:
    engine = tiny.llm_engine
    mine = [engine.add_request("Hello", GREEDY, request_id=str(i)) for i in range(3)]
    auto = [engine.add_request("World", GREEDY) for _ in range(3)]
    assert len(set(mine + auto)) == 6
    with pytest.raises(ValueError, match="request_id='1' is invalid: already in use"):
        engine.add_request("Hi", GREEDY, request_id="1")
    with pytest.raises(ValueError, match="request_id=5 is invalid"):
        engine.add_request("Hi", GREEDY, request_id=5)
    while engine.has_unfinished_requests():
        engine.step()


def test_generate_queues_all_or_nothing(tiny) -> None:
    engine = tiny.llm_engine
    free = engine.kv_cache_manager.num_free_blocks()
    prompts = ["Hello", "World", {"prompt_token_ids": [1, -4]}, "Late"]
    with pytest.raises(ValueError, match=r"prompt_token_ids contains \[-4\]"):
        tiny.generate(prompts, GREEDY, use_tqdm=False)
    params = [GREEDY, GREEDY, SamplingParams(top_p=0.5), SamplingParams(top_k=10**9)]
    with pytest.raises(ValueError, match="top_k=1000000000 is invalid"):
        tiny.generate(["a", "b", "c", "d"], params, use_tqdm=False)
    assert not engine.has_unfinished_requests()
    assert engine.kv_cache_manager.num_free_blocks() == free


# ---- 4. a failing step loses nothing ------------------------------------------------------
class FaultyModel:
    """Wraps the runner's model: its forward raises on the call numbers in ``fail_at``, and on
    every call whose batch holds the ``poison`` token (a fault caused by one input)."""

    def __init__(self, model, fail_at=(), poison: int | None = None,
                 error: type[BaseException] = RuntimeError) -> None:
        self.model, self.fail_at, self.poison, self.calls = model, set(fail_at), poison, 0
        self.error = error

    def __getattr__(self, name):
        return getattr(self.model, name)

    def __call__(self, input_ids, positions, md):
        self.calls += 1
        if self.calls in self.fail_at:
            raise self.error(f"injected fault at call {self.calls}")
        if self.poison is not None and self.poison in input_ids.tolist():
            raise RuntimeError("injected fault: poisoned input")
        return self.model(input_ids, positions, md)


def _reference(llm: LLM, prompts, params) -> list[list[int]]:
    return _ids(llm.generate(prompts, params, use_tqdm=False))


def test_a_request_whose_input_breaks_the_model_fails_alone(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["llama"], max_num_seqs=4)
    prompts = [{"prompt_token_ids": [5, 6, 7, i]} for i in range(10, 16)]
    ref = _reference(llm, prompts, GREEDY)
    engine = llm.llm_engine
    engine.runner.model = FaultyModel(engine.runner.model, poison=13)
    outs = llm.generate(prompts, GREEDY, use_tqdm=False)
    bad = [o for o in outs if 13 in o.prompt_token_ids]
    assert len(bad) == 1 and bad[0].outputs[0].finish_reason == "abort"
    assert "poisoned input" in bad[0].error
    good = [i for i, o in enumerate(outs) if o is not bad[0]]
    assert [outs[i].outputs[0].token_ids for i in good] == [ref[i] for i in good]
    assert all(outs[i].error is None for i in good)
    assert _ids(llm.generate(prompts[:1], GREEDY, use_tqdm=False)) == ref[:1]  # still serving


def test_a_fault_in_output_processing_fails_only_its_request(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["qwen3"])
    engine = llm.llm_engine
    prompts = ["Hello", "World", "Once upon a time"]
    ref = _reference(llm, prompts, GREEDY)
    detokenizer = engine.output_processor.detokenizer
    step = detokenizer.step
    victim = {}

    def flaky(state, token, skip):
        if not victim:
            victim["state"] = state
        if state is victim["state"]:
            raise UnicodeError("injected detokenizer fault")
        return step(state, token, skip)

    detokenizer.step = flaky
    outs = llm.generate(prompts, GREEDY, use_tqdm=False)
    failed = [o for o in outs if o.error]
    assert len(failed) == 1 and "UnicodeError: injected detokenizer fault" in failed[0].error
    assert failed[0].outputs[0].finish_reason == "abort"
    assert [o.outputs[0].token_ids for o in outs if not o.error] == \
        [r for o, r in zip(outs, ref) if not o.error]


@pytest.mark.parametrize("async_scheduling", [False, True])
def test_an_interrupted_step_ends_its_requests_and_the_engine_goes_on(tiny_model_dirs,
                                                                     async_scheduling) -> None:
    """Ctrl-C inside a step (an exception the runner does not retry): the requests of the
    steps whose tokens never came back end as aborted, with the reason, in the next step's
    outputs; a request that was waiting, and one added afterwards, get exactly their tokens,
    and every block comes back (checked after every test)."""
    llm = _llm(tiny_model_dirs["llama"], max_num_seqs=2, async_scheduling=async_scheduling)
    prompts = [{"prompt_token_ids": [5, 6, 7, i]} for i in range(10, 14)]
    ref = _reference(llm, prompts, GREEDY)
    engine = llm.llm_engine
    for i, p in enumerate(prompts[:3]):   # two run, the third waits for a free place
        engine.add_request(p, GREEDY, request_id=f"r{i}")
    model = engine.runner.model
    engine.runner.model = FaultyModel(model, {3}, error=KeyboardInterrupt)
    engine.step()
    engine.step()
    with pytest.raises(KeyboardInterrupt):
        engine.step()
    engine.runner.model = model
    engine.add_request(prompts[3], GREEDY, request_id="r3")
    done = {}
    while engine.has_unfinished_requests():
        done.update((o.request_id, o) for o in engine.step() if o.finished)
    for rid in ("r0", "r1"):
        assert done[rid].outputs[0].finish_reason == "abort"
        assert "interrupted: KeyboardInterrupt: injected fault at call 3" in done[rid].error
    for rid, i in (("r2", 2), ("r3", 3)):
        assert done[rid].error is None and done[rid].outputs[0].token_ids == ref[i]


def test_generate_refuses_an_engine_with_requests_of_its_own(tiny) -> None:
    """``generate`` steps the engine until it is empty: the outputs of requests added to the
    engine directly would be stepped past and lost, so it refuses before queuing anything."""
    engine = tiny.llm_engine
    engine.add_request("Hello", GREEDY, request_id="mine")
    with pytest.raises(RuntimeError, match="holds 1 unfinished requests added through llm_engine"):
        tiny.generate("World", GREEDY, use_tqdm=False)
    assert list(engine.requests) == ["mine"]
    outs = []
    while engine.has_unfinished_requests():
        outs += [o for o in engine.step() if o.finished]
    assert [o.request_id for o in outs] == ["mine"] and len(outs[0].outputs[0].token_ids) == 12


@pytest.mark.parametrize("request_id", [["a"], 123, None])
def test_abort_request_refuses_what_is_not_an_id(tiny, request_id) -> None:
    with pytest.raises(ValueError, match=r"request_id=.* is invalid: must be a string"):
        tiny.llm_engine.abort_request(request_id)


@pytest.fixture(scope="module")
def fault_llm(tiny_model_dirs) -> LLM:
    """A small cache (preemptions happen) on the tiny Qwen2."""
    return _llm(tiny_model_dirs["qwen2"], block_size=4, num_gpu_blocks=40, max_num_seqs=6)


FAULT_PROMPTS = [{"prompt_token_ids": [3 + i, 40 + i, 7, 90 - i][: 2 + i % 3]} for i in range(8)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_fault_at_a_random_step_under_random_traffic_loses_nothing(fault_llm, data) -> None:
    """A runner that raises once, at a random step, while requests arrive and are aborted at
    random (a passing fault: the step's retry succeeds):
    every request its caller did not abort finishes with exactly the tokens of a fault-free run
    (greedy and seeded), and no KV block leaks (checked after every test)."""
    params = [GREEDY, SamplingParams(temperature=0.8, seed=11, max_tokens=12, ignore_eos=True)]
    ref = {(i, j): ids for j, p in enumerate(params)
           for i, ids in enumerate(_reference(fault_llm, FAULT_PROMPTS, p))}
    engine = fault_llm.llm_engine
    model = engine.runner.model
    fail_at = data.draw(st.integers(1, 30), label="fail_at")
    engine.runner.model = FaultyModel(model, {fail_at})
    try:
        live, aborted, done = {}, set(), {}
        plan = data.draw(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 1),
                                            st.booleans()), min_size=1, max_size=10), label="plan")
        for n, (i, j, abort) in enumerate(plan):
            rid = engine.add_request(FAULT_PROMPTS[i], params[j], request_id=f"r{n}")
            live[rid] = (i, j)
            for out in engine.step():
                if out.finished:
                    done[out.request_id] = out
            if abort:
                victim = data.draw(st.sampled_from(sorted(live)), label="abort")
                if victim not in done:
                    engine.abort_request(victim)
                    aborted.add(victim)
        while engine.has_unfinished_requests():
            for out in engine.step():
                if out.finished:
                    done[out.request_id] = out
    finally:
        engine.runner.model = model
        for rid in list(engine.requests):   # hypothesis can cut an example short mid-plan
            engine.abort_request(rid)
    for rid, key in live.items():
        if rid in aborted:
            continue
        assert done[rid].error is None and done[rid].outputs[0].token_ids == ref[key], rid


# ---- 8. footprint: the CPU cache is not touched until it is used ---------------------------
def test_unused_cache_memory_is_never_touched_and_garbage_cannot_leak(tiny_model_dirs) -> None:
    """The cache is allocated uninitialised and a block is zeroed on its first use, so pages a
    job never uses are never written; NaN garbage in the cache cannot reach any output."""
    d = tiny_model_dirs["llama"]
    llm = _llm(d, block_size=4)
    runner = llm.llm_engine.runner
    for layer in runner.attn_layers:              # the worst garbage the allocator could leave
        layer.k_cache.fill_(math.nan)
        layer.v_cache.fill_(math.nan)
    outs = llm.generate(PROMPTS, GREEDY, use_tqdm=False)
    assert _ids(outs) == _hf_greedy(d, PROMPTS, GREEDY.max_tokens)
    longest = max(len(o.prompt_token_ids) + len(o.outputs[0].token_ids) for o in outs)
    assert 0 < int(runner._zeroed.sum()) <= len(PROMPTS) * -(-longest // 4)
    assert runner.num_blocks > 10 * int(runner._zeroed.sum())


# ---- the fuzz: any prompt x any SamplingParams values through LLM.generate -----------------
_ANY = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3),
                 st.lists(st.integers(-5, 10**6), max_size=3))
_FIELDS = ["n", "best_of", "temperature", "top_p", "top_k", "min_p", "presence_penalty",
           "frequency_penalty", "repetition_penalty", "seed", "stop", "stop_token_ids",
           "max_tokens", "min_tokens", "logprobs", "prompt_logprobs"]
_PROMPTS = st.one_of(st.text(max_size=20), st.integers(),
                     st.lists(st.integers(-3, 500), max_size=6).map(
                         lambda ids: {"prompt_token_ids": ids}))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prompts=st.lists(_PROMPTS, min_size=1, max_size=3),
       fields=st.dictionaries(st.sampled_from(_FIELDS), _ANY, max_size=4))
def test_fuzz_every_draw_is_refused_up_front_or_completes(tiny, prompts, fields) -> None:
    engine = tiny.llm_engine
    try:
        params = SamplingParams(**{"max_tokens": 4, **fields})
    except ValueError:
        return
    params.max_tokens = min(params.max_tokens or 4, 4)  # keep the run short: a legal mutation
    params.min_tokens = min(params.min_tokens, params.max_tokens)
    try:
        outs = tiny.generate(prompts, params, use_tqdm=False)
    except ValueError:
        assert not engine.has_unfinished_requests()   # refused before anything was queued
    else:
        assert len(outs) == len(prompts) and all(o.finished and o.error is None for o in outs)
    good = tiny.generate("Hello", GREEDY, use_tqdm=False)[0]
    assert len(good.outputs[0].token_ids) == GREEDY.max_tokens
