"""Async scheduling: step N+1 is scheduled and queued before step N is applied, and the outputs
are those of synchronous steps.

On the CPU nothing runs beside the host, so nothing overlaps, but every piece of the logic runs:
placeholders in the scheduler, the next step's inputs taken from the sampled tensor, tokens
dropped for sequences that stopped or were aborted while a step was in flight, preemption of a
sequence whose token is on its way, rows handed to new sequences before a token for their old
one arrives, and a failed step re-run request by request.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from folovllm import LLM, SamplingParams
from folovllm.config import EngineArgs
from folovllm.core.scheduler_output import NewSeqData
from folovllm.engine.llm_engine import LLMEngine
from folovllm.worker.input_batch import InputBatch
from tests.cli_checks import command_help
from tests.test_reliability import FaultyModel


def _pair(model_dir, **kw) -> tuple[LLM, LLM]:
    common = dict(device="cpu", **kw)
    return (LLM(str(model_dir), async_scheduling=False, **common),
            LLM(str(model_dir), async_scheduling=True, **common))


def _prompts(n: int, seed: int, shared: int = 0) -> list[dict]:
    rng = random.Random(seed)
    prefix = [rng.randrange(3, 380) for _ in range(shared)]
    return [{"prompt_token_ids": prefix + [rng.randrange(3, 380)
                                           for _ in range(rng.randint(1, 40))]}
            for _ in range(n)]


def _mixed_params(n: int, seed: int) -> list[SamplingParams]:
    """Greedy and seeded rows, EOS on or ignored, stop tokens, logprobs, penalties, min_tokens,
    and n > 1: every way a sequence can end or be sampled."""
    rng = random.Random(seed)
    kinds = [
        lambda: SamplingParams(temperature=0, max_tokens=rng.randint(1, 20)),
        lambda: SamplingParams(temperature=0.8, seed=rng.randrange(99), top_p=0.9,
                               max_tokens=rng.randint(1, 20), ignore_eos=True),
        lambda: SamplingParams(temperature=0, max_tokens=20, stop_token_ids=[17, 29, 101],
                               min_tokens=rng.randint(0, 4), logprobs=2),
        lambda: SamplingParams(temperature=0.7, seed=5, max_tokens=15, n=2,
                               repetition_penalty=1.3, presence_penalty=0.5),
    ]
    return [kinds[i % len(kinds)]() for i in range(n)]


def _summary(outs) -> list:
    """What must be identical: tokens, finish and stop reasons, text, logprob ranks."""
    return [[(c.token_ids, c.finish_reason, c.stop_reason, c.text,
              None if c.logprobs is None else [{t: lp.rank for t, lp in pos.items()}
                                               for pos in c.logprobs]) for c in o.outputs]
            for o in outs]


def _floats(outs) -> list[float]:
    return [x for o in outs for c in o.outputs for x in (
        c.cumulative_logprob, *(lp.logprob for pos in c.logprobs or [] for lp in pos.values()))]


def assert_same_outputs(outs, ref) -> None:
    """Identical outputs, log-probabilities to 1e-4: the two engines batch a sequence with
    different neighbours at some steps (async preempts at other moments), and a matrix
    product's last float bits depend on the batch shape; the tokens do not."""
    assert _summary(outs) == _summary(ref)
    assert np.allclose(_floats(outs), _floats(ref), rtol=0, atol=1e-4)


def test_async_is_off_on_cpu_and_refused_with_tensor_parallelism(tiny_model_dirs) -> None:
    """Unset, async scheduling is on for one CUDA device only: on the CPU nothing runs beside
    the host, so it would only add a step of latency. With tensor parallelism the workers take
    each step's tokens on the host, so asking for it is an error, raised before any process."""
    llama = str(tiny_model_dirs["llama"])
    assert not EngineArgs.from_kwargs(model=llama, device="cpu").create_engine_config(
    ).scheduler_config.async_scheduling
    assert EngineArgs.from_kwargs(model=llama, device="cpu", async_scheduling=True
                                  ).create_engine_config().scheduler_config.async_scheduling
    with pytest.raises(ValueError, match="async_scheduling=True is invalid: it needs "
                       "tensor_parallel_size=1 \\(got 2\\)"):
        EngineArgs.from_kwargs(model=llama, device="cpu", tensor_parallel_size=2,
                               async_scheduling=True).create_engine_config()
    with pytest.raises(ValueError, match="async_scheduling='yes' is invalid: must be True or "
                       "False"):
        EngineArgs.from_kwargs(model=llama, device="cpu", async_scheduling="yes"
                               ).create_engine_config()


# a cache small enough to preempt, chunked prompts and a shared prefix
SMALL = dict(max_num_seqs=6, block_size=4, num_gpu_blocks=30, max_num_batched_tokens=32,
             long_prefill_token_threshold=12)


def check_every_kind_of_request(sync: LLM, fast: LLM) -> LLMEngine:
    """The synchronous and the async engine give the same outputs for every kind of request,
    and the async one preempted and hit the prefix cache; returns its engine."""
    prompts = _prompts(20, seed=1, shared=9)
    params = _mixed_params(20, seed=2)
    assert_same_outputs(fast.generate(prompts, params, use_tqdm=False),
                        sync.generate(prompts, params, use_tqdm=False))
    engine = fast.llm_engine
    assert engine.config.scheduler_config.async_scheduling
    assert engine.scheduler.num_preemptions > 0 and engine.prefix_cache_stats.hits > 0
    return engine


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_async_gives_the_outputs_of_synchronous_steps(tiny_model_dirs, arch) -> None:
    """Every kind of request: tokens, finish and stop reasons, text, logprobs identical."""
    check_every_kind_of_request(*_pair(tiny_model_dirs[arch], **SMALL))


def test_async_stop_strings_and_max_model_len(tiny_model_dirs) -> None:
    """A stop string is found on the host one step late, after one more token was computed for
    the sequence; a sequence at max_model_len is never scheduled past it."""
    sync, fast = _pair(tiny_model_dirs["qwen2"], max_model_len=48, max_num_seqs=4)
    prompts = ["Hello", "The quick brown fox", "Once upon a time", "大语言模型"]
    params = [SamplingParams(temperature=0, max_tokens=40, stop=[" the", "o"]),
              SamplingParams(temperature=0, max_tokens=100, ignore_eos=True),
              SamplingParams(temperature=0, max_tokens=30, stop=["e"],
                             include_stop_str_in_output=True),
              SamplingParams(temperature=0.5, seed=3, max_tokens=100, ignore_eos=True)]
    out = fast.generate(prompts, params, use_tqdm=False)
    assert_same_outputs(out, sync.generate(prompts, params, use_tqdm=False))
    assert out[1].outputs[0].finish_reason == "length"
    assert len(out[1].prompt_token_ids) + len(out[1].outputs[0].token_ids) == 48


def test_step_returns_the_outputs_of_the_step_before(tiny_model_dirs) -> None:
    """With async scheduling ``step`` applies the step queued by the call before: the first
    call returns nothing, and each request finishes one call later than without it."""
    engines = [LLMEngine.from_engine_args(model=str(tiny_model_dirs["llama"]), device="cpu",
                                          async_scheduling=a) for a in (False, True)]
    steps = []
    for engine in engines:
        engine.add_request("Hello", SamplingParams(temperature=0, max_tokens=3, ignore_eos=True))
        calls = []
        while engine.has_unfinished_requests():
            calls.append([(len(o.outputs[0].token_ids), o.finished) for o in engine.step()])
        steps.append(calls)
    assert steps[0] == [[(1, False)], [(2, False)], [(3, True)]]
    assert steps[1] == [[], [(1, False)], [(2, False)], [(3, True)]]


def test_a_token_in_flight_for_an_aborted_request_is_dropped(tiny_model_dirs) -> None:
    """Abort a request while its next token is being computed: the others keep their tokens,
    no block leaks (checked after every test), and the runner forgets it."""
    sync, fast = _pair(tiny_model_dirs["llama"], max_num_seqs=4)
    prompts = _prompts(6, seed=4)
    params = SamplingParams(temperature=0, max_tokens=10, ignore_eos=True)
    ref = [o.outputs[0].token_ids for o in sync.generate(prompts, params, use_tqdm=False)]
    engine = fast.llm_engine
    ids = [engine.add_request(p, params) for p in prompts]
    engine.step()
    engine.step()
    engine.abort_request(ids[1])
    done = {}
    while engine.has_unfinished_requests():
        done.update((o.request_id, o.outputs[0].token_ids) for o in engine.step() if o.finished)
    assert ids[1] not in done
    assert [done[i] for i in ids if i != ids[1]] == [r for i, r in zip(ids, ref) if i != ids[1]]
    engine.step()   # the step in flight at the end is applied, and drops its tokens
    assert not engine.runner.input_batch.row_of


def test_a_request_whose_input_breaks_the_model_fails_alone_with_async(tiny_model_dirs) -> None:
    sync, fast = _pair(tiny_model_dirs["llama"], max_num_seqs=4)
    prompts = [{"prompt_token_ids": [5, 6, 7, i]} for i in range(10, 16)]
    params = SamplingParams(temperature=0, max_tokens=12, ignore_eos=True)
    ref = [o.outputs[0].token_ids for o in sync.generate(prompts, params, use_tqdm=False)]
    runner = fast.llm_engine.runner
    runner.model = FaultyModel(runner.model, poison=13)
    outs = fast.generate(prompts, params, use_tqdm=False)
    bad = [o for o in outs if 13 in o.prompt_token_ids]
    assert len(bad) == 1 and "poisoned input" in bad[0].error
    assert [o.outputs[0].token_ids for o in outs if o is not bad[0]] == \
        [r for o, r in zip(outs, ref) if o is not bad[0]]


@pytest.mark.parametrize("fail_at", [2, 5, 9])
def test_a_passing_fault_in_flight_loses_nothing(tiny_model_dirs, fail_at) -> None:
    """The runner raises once, with a step in flight: the failed step is re-run request by
    request, and every request gets the tokens of a fault-free run, greedy and seeded."""
    sync, fast = _pair(tiny_model_dirs["qwen2"], max_num_seqs=4, block_size=4,
                       num_gpu_blocks=24)
    prompts = _prompts(8, seed=7)
    params = [SamplingParams(temperature=0.8 * (i % 2), seed=i, max_tokens=12, ignore_eos=True)
              for i in range(8)]
    ref = sync.generate(prompts, params, use_tqdm=False)
    runner = fast.llm_engine.runner
    model, runner.model = runner.model, FaultyModel(runner.model, {fail_at})
    try:
        assert_same_outputs(fast.generate(prompts, params, use_tqdm=False), ref)
    finally:
        runner.model = model


def test_a_token_for_a_rows_former_sequence_is_not_written_into_the_new_one() -> None:
    """A sequence finishes while its last token is in flight and its row goes to a new
    sequence: when the token arrives, the new sequence's prompt is left as it is."""
    batch = InputBatch(2, 16, 4, torch.device("cpu"))
    params = SamplingParams()
    row = batch.add(NewSeqData(1, "a", 0, (5, 6, 7), params, [0], 0))
    reserved = batch.reserve_sampled(np.array([row]))
    batch.remove(1)
    assert batch.add(NewSeqData(2, "b", 0, (8, 9, 10, 11), params, [1], 0)) == row
    batch.write_sampled(np.array([row]), reserved, np.array([99], dtype=np.int32))
    assert batch.token_ids[row, :4].tolist() == [8, 9, 10, 11]
    reserved = batch.reserve_sampled(np.array([row]))
    batch.write_sampled(np.array([row]), reserved, np.array([42], dtype=np.int32))
    assert batch.token_ids[row, :5].tolist() == [8, 9, 10, 11, 42]


@pytest.mark.parametrize("command", ["generate", "chat", "bench"])
def test_the_command_line_turns_async_scheduling_off(command, capsys) -> None:
    from folovllm.entrypoints.cli import build_parser

    help_text = command_help(command, capsys)
    assert "--no-async-scheduling wait for each step before scheduling the next" in help_text
    args = build_parser().parse_args([command, "--no-async-scheduling"]
                                     + (["hi"] if command == "generate" else []))
    assert args.no_async_scheduling


@pytest.mark.parametrize("flag, expected", [([], None), (["--no-async-scheduling"], False)])
def test_generate_passes_the_setting_to_the_engine(monkeypatch, tiny_model_dirs, flag,
                                                   expected) -> None:
    """Unset, the engine resolves it per device; the flag turns it off."""
    import folovllm.entrypoints.llm as llm_module
    from folovllm.entrypoints.cli import main

    seen = {}

    class Stop(Exception):
        pass

    def fake_llm(*args, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(llm_module, "LLM", fake_llm)
    with pytest.raises(Stop):
        main(["generate", "hi", "--model", str(tiny_model_dirs["llama"]), "--device", "cpu",
              *flag])
    assert seen["async_scheduling"] is expected


@pytest.mark.parametrize("async_scheduling", [False, True])
def test_a_late_failure_does_not_touch_a_new_request_with_the_same_id(tiny_model_dirs,
                                                                      async_scheduling) -> None:
    """A step fails for request "x"; the caller aborts "x" and sends a new "x" before the
    failure is applied (with async scheduling it arrives a step late): the failure finishes
    only the sequences of the step that failed, and the new "x" runs to its end."""
    engine = LLMEngine.from_engine_args(model=str(tiny_model_dirs["llama"]), device="cpu",
                                        async_scheduling=async_scheduling)
    engine.runner.model = FaultyModel(engine.runner.model, poison=13)
    params = SamplingParams(temperature=0, max_tokens=5, ignore_eos=True)
    engine.add_request({"prompt_token_ids": [5, 6, 13]}, params, request_id="x")
    first = engine.step()
    if engine.has_unfinished_requests():
        engine.abort_request("x")
    else:
        assert first[0].error == "RuntimeError: injected fault: poisoned input"
    engine.add_request({"prompt_token_ids": [5, 6, 7]}, params, request_id="x")
    done = []
    while engine.has_unfinished_requests():
        done += [o for o in engine.step() if o.finished]
    (out,) = done
    assert out.error is None and out.outputs[0].finish_reason == "length"
    assert len(out.outputs[0].token_ids) == 5
