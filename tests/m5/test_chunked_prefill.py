"""M5: chunked prefill — the same tokens whatever the token budget (with the prefix cache, under
preemption, seeded), one budget per step that mixes decodes with prompt chunks, and no request
left behind."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from folovllm import LLM, SamplingParams
from folovllm.sequence import Request, SequenceStatus
from tests.kv_checks import check_block_accounting
from tests.m1.test_parity import _hf_greedy
from tests.sched_helpers import (
    EOS,
    TOKEN,
    has_unfinished,
    make_request,
    make_scheduler,
    plain_data_problems,
    runner_output,
    scheduled_ids,
    step,
)

GREEDY = SamplingParams(temperature=0, max_tokens=8, ignore_eos=True)
SEEDED = SamplingParams(temperature=0.9, seed=5, n=2, max_tokens=8, ignore_eos=True)
BUDGETS = [16, 64, 256, None]   # None: the default, 8192, more than any prompt here
B = 4                           # block size of the small engines


def _llm(model_dir, budget: int | None = None, **kw) -> LLM:
    kw = {"device": "cpu", "dtype": "float32", "block_size": B, "max_num_seqs": 8,
          "max_num_batched_tokens": budget, **kw}
    return LLM(str(model_dir), **kw)


def _prompts(n: int = 6, seed: int = 0, lo: int = 1, hi: int = 150) -> list[dict]:
    """Random prompts, most of them longer than the small budgets."""
    rng = random.Random(seed)
    return [{"prompt_token_ids": [rng.randrange(3, 380) for _ in range(rng.randint(lo, hi))]}
            for _ in range(n)]


def _ids(outs) -> list[list[int]]:
    return [c.token_ids for o in outs for c in o.outputs]


# ---- chunk invariance -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def unchunked_ids(tiny_model_dirs) -> dict[str, list[list[int]]]:
    """The reference: whole-prompt prefills (M4's scheduler), per architecture."""
    return {arch: _ids(_llm(d, enable_chunked_prefill=False).generate(
        _prompts(), GREEDY, use_tqdm=False)) for arch, d in tiny_model_dirs.items()}


@pytest.mark.parametrize("arch", ["llama", "qwen2", "qwen3"])
@pytest.mark.parametrize("budget", BUDGETS)
def test_greedy_tokens_do_not_depend_on_the_token_budget(tiny_model_dirs, unchunked_ids, arch,
                                                         budget) -> None:
    llm = _llm(tiny_model_dirs[arch], budget)
    assert _ids(llm.generate(_prompts(), GREEDY, use_tqdm=False)) == unchunked_ids[arch]


def test_chunked_greedy_equals_transformers(tiny_model_dirs) -> None:
    """The smallest budget splits every prompt below into chunks of at most 16 tokens."""
    prompts = ["The quick brown fox jumps over the lazy dog " * 4, "Paged attention " * 9]
    outs = _llm(tiny_model_dirs["qwen3"], 16).generate(prompts, GREEDY, use_tqdm=False)
    assert _ids(outs) == _hf_greedy(tiny_model_dirs["qwen3"], prompts, 8)


def test_default_model_same_answers_with_small_chunks(default_model_dir) -> None:
    prompt = ("Chunked prefill splits a long prompt into pieces, so that the requests already "
              "decoding keep streaming while it is computed. In one sentence, why does that help?")
    params = SamplingParams(temperature=0, max_tokens=12)
    chunked = LLM(str(default_model_dir), device="cpu", max_num_batched_tokens=16, max_num_seqs=4)
    whole = LLM(str(default_model_dir), device="cpu", enable_chunked_prefill=False)
    assert len(chunked.get_tokenizer()(prompt).input_ids) > 16   # it is really chunked
    assert _ids(chunked.generate([prompt, "Hi"], params, use_tqdm=False)) == \
        _ids(whole.generate([prompt, "Hi"], params, use_tqdm=False))


@pytest.mark.parametrize("budget", [16, 64])
def test_seeded_sampling_does_not_depend_on_the_token_budget(tiny_model_dirs, budget) -> None:
    d = tiny_model_dirs["llama"]
    ref = _llm(d, enable_chunked_prefill=False).generate(_prompts(4, seed=2), SEEDED,
                                                         use_tqdm=False)
    outs = _llm(d, budget).generate(_prompts(4, seed=2), SEEDED, use_tqdm=False)
    assert _ids(outs) == _ids(ref)


@pytest.mark.parametrize("budget", [16, 64])
def test_chunks_after_a_cached_prefix(tiny_model_dirs, budget) -> None:
    """The cached prefix is skipped and only the rest is chunked: same tokens as an engine with
    neither feature, and the later prompts find the shared blocks."""
    rng = random.Random(3)
    prefix = [rng.randrange(3, 380) for _ in range(70)]
    prompts = [{"prompt_token_ids": prefix + [rng.randrange(3, 380) for _ in range(n)]}
               for n in (5, 30, 1, 60)]
    d = tiny_model_dirs["qwen2"]
    plain = _llm(d, enable_chunked_prefill=False, enable_prefix_caching=False)
    llm = _llm(d, budget)
    first = llm.generate(prompts[:1], GREEDY, use_tqdm=False)
    rest = llm.generate(prompts[1:], GREEDY, use_tqdm=False)
    assert all(o.num_cached_tokens == 68 for o in rest)   # 17 full blocks of the prefix
    assert _ids(first + rest) == _ids(plain.generate(prompts, GREEDY, use_tqdm=False))


@pytest.mark.parametrize("params", [GREEDY, SEEDED], ids=["greedy", "seeded"])
def test_same_tokens_under_preemption(tiny_model_dirs, params) -> None:
    """A cache too small for the batch: sequences are preempted, some of them part-way
    through their prompt, and resume (from their own cached blocks when those survive)."""
    d, prompts = tiny_model_dirs["qwen3"], _prompts(6, seed=4, lo=20, hi=60)
    ref = _llm(d, enable_chunked_prefill=False).generate(prompts, params, use_tqdm=False)
    for caching in (True, False):
        small = _llm(d, 16, num_gpu_blocks=24, enable_prefix_caching=caching)
        outs = small.generate(prompts, params, use_tqdm=False)
        assert small.llm_engine.scheduler.num_preemptions > 0
        assert _ids(outs) == _ids(ref)


# ---- the step: one budget, decodes and chunks together ---------------------------------------
def test_a_step_carries_the_decodes_and_a_chunk_of_a_waiting_prompt() -> None:
    s = make_scheduler(seqs=8, tokens=32, blocks=64, block_size=4)
    short = [make_request(5) for _ in range(3)]
    for r in short:
        s.add_request(r)
    step(s)                                    # 15 prompt tokens: all three now decode
    long = make_request(100)
    s.add_request(long)
    out = s.schedule()
    stats = s.make_stats(out)
    assert [out.num_scheduled_tokens[r.seqs[0].seq_id] for r in short] == [1, 1, 1]
    assert out.num_scheduled_tokens[long.seqs[0].seq_id] == 29   # what the budget leaves
    assert out.total_num_scheduled_tokens == 32
    assert (stats.num_decode_tokens, stats.num_prefill_tokens) == (3, 29)
    assert scheduled_ids(out)[:3] == [r.seqs[0].seq_id for r in short]   # running first


def test_a_chunk_inside_the_prompt_samples_nothing() -> None:
    s = make_scheduler(seqs=4, tokens=16, blocks=64, block_size=4)
    r = make_request(40)
    s.add_request(r)
    seq = r.seqs[0]
    for computed in (16, 32):
        out, updates = step(s)
        assert out.num_scheduled_tokens == {seq.seq_id: 16} and updates == []
        assert seq.data.num_computed_tokens == computed and seq.data.get_output_len() == 0
    out, updates = step(s)                     # the last 8 prompt tokens: the first output
    assert out.num_scheduled_tokens == {seq.seq_id: 8}
    assert [u.new_token_ids for u in updates] == [[TOKEN]]


def test_the_runner_computes_no_logits_for_a_chunk_inside_the_prompt(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["llama"], 16)
    model = llm.llm_engine.runner.model
    rows: list[int] = []
    original = model.compute_logits
    model.compute_logits = lambda hidden: rows.append(hidden.shape[0]) or original(hidden)
    out = llm.generate({"prompt_token_ids": list(range(3, 43))},
                       SamplingParams(temperature=0, max_tokens=2, ignore_eos=True),
                       use_tqdm=False)
    assert rows == [1, 1]   # steps of 16, 16, 8 (samples), then one decode
    assert len(out[0].outputs[0].token_ids) == 2


def test_long_prefill_token_threshold_caps_one_sequence_per_step() -> None:
    s = make_scheduler(seqs=4, tokens=64, blocks=64, block_size=4, threshold=16)
    a, b, c = make_request(50), make_request(50), make_request(50)
    for r in (a, b, c):
        s.add_request(r)
    out = s.schedule()
    assert list(out.num_scheduled_tokens.values()) == [16, 16, 16]   # three prompts start
    s.update_from_output(out, runner_output(s, out))
    out = s.schedule()
    assert list(out.num_scheduled_tokens.values()) == [16, 16, 16]


def test_without_a_threshold_the_oldest_prompt_takes_the_budget() -> None:
    s = make_scheduler(seqs=4, tokens=64, blocks=64, block_size=4)
    a, b = make_request(100), make_request(10)
    s.add_request(a)
    s.add_request(b)
    out, _ = step(s)
    assert out.num_scheduled_tokens == {a.seqs[0].seq_id: 64}
    out, _ = step(s)
    assert out.num_scheduled_tokens == {a.seqs[0].seq_id: 36, b.seqs[0].seq_id: 10}


def test_without_chunked_prefill_a_step_admits_whole_prompts_only() -> None:
    s = make_scheduler(seqs=4, tokens=64, blocks=64, block_size=4, chunked=False)
    a, b = make_request(40), make_request(40)
    s.add_request(a)
    s.add_request(b)
    out, _ = step(s)
    assert out.num_scheduled_tokens == {a.seqs[0].seq_id: 40}      # b does not fit whole
    out, _ = step(s)
    assert out.num_scheduled_tokens == {b.seqs[0].seq_id: 40}      # a prefill step: a waits


def _request(first_token: int, length: int) -> Request:
    """A request whose prompt is ``first_token, first_token + 1, ...`` (greedy)."""
    return Request.create(f"q{first_token}", None, list(range(first_token, first_token + length)),
                          SamplingParams(temperature=0), first_seq_id=first_token * 10,
                          eos_token_id=EOS)


def test_a_preempted_partial_prefill_resumes_from_its_cached_blocks() -> None:
    """Blocks run out while ``b`` is part-way through its prompt: it is preempted (it is the
    newest), and comes back with its computed full blocks found in the prefix cache."""
    s = make_scheduler(seqs=4, tokens=16, blocks=10, block_size=4, caching=True)
    a, b = _request(1000, 20), _request(2000, 24)
    aseq, bseq = a.seqs[0], b.seqs[0]
    s.add_request(a)
    s.add_request(b)
    step(s)                                          # a: 16 tokens
    out, _ = step(s)                                 # a: its last 4 (samples), b: 12
    assert out.num_scheduled_tokens == {aseq.seq_id: 4, bseq.seq_id: 12}
    out, _ = step(s)      # a's decode takes a 6th block; b's next 12 need 3 more: only 1 free
    assert out.num_scheduled_tokens == {aseq.seq_id: 1}
    assert bseq.status == SequenceStatus.PREEMPTED and s.num_preemptions == 1
    step(s, lambda seq_id: EOS)                      # a finishes (b's hits + 3 new > 4 free)
    out, _ = step(s)
    cached = out.scheduled_cached_seqs
    assert cached.seq_ids == [bseq.seq_id] and cached.resumed_from_preemption == [True]
    assert cached.num_computed_tokens == [12]        # three full blocks from the cache
    assert out.num_scheduled_tokens == {bseq.seq_id: 12}


def test_engine_reports_the_split_of_each_step(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["llama"], 16)
    engine = llm.llm_engine
    engine.add_request({"prompt_token_ids": list(range(3, 8))}, GREEDY)
    engine.step()
    engine.add_request({"prompt_token_ids": list(range(3, 103))}, GREEDY)
    engine.step()
    stats = engine.last_step_stats
    assert (stats.num_decode_tokens, stats.num_prefill_tokens) == (1, 15)
    assert (stats.num_running_seqs, stats.num_waiting_seqs) == (2, 0)
    while engine.has_unfinished_requests():
        engine.step()


def test_aborting_a_request_mid_prompt_frees_its_blocks(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["qwen2"], 16)
    engine = llm.llm_engine
    long = engine.add_request({"prompt_token_ids": list(range(3, 103))}, GREEDY)
    short = engine.add_request({"prompt_token_ids": [5, 6, 7]}, GREEDY)
    engine.step()
    engine.step()                                # the long prompt is 32 tokens in
    engine.abort_request(long)
    check_block_accounting(engine)
    done = {}
    while engine.has_unfinished_requests():
        done.update({o.request_id: o for o in engine.step() if o.finished})
    alone = _llm(tiny_model_dirs["qwen2"]).generate({"prompt_token_ids": [5, 6, 7]}, GREEDY,
                                                    use_tqdm=False)
    assert done[short].outputs[0].token_ids == alone[0].outputs[0].token_ids


# ---- no starvation, no leaks, under random use -------------------------------------------------
ops = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(1, 120)),
    st.tuples(st.just("abort"), st.integers(0, 30)),
    st.tuples(st.just("step"), st.integers(0, 10)),
), max_size=60)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops, blocks=st.integers(8, 40), block_size=st.sampled_from([1, 4, 16]),
       max_seqs=st.integers(1, 6), extra_budget=st.integers(0, 60),
       threshold=st.sampled_from([0, 1, 5, 16]), caching=st.booleans())
def test_random_arrivals_every_request_finishes_within_budget(
        ops, blocks, block_size, max_seqs, extra_budget, threshold, caching) -> None:
    """Every step stays within the budget and the oldest running sequence always progresses;
    a sequence holds exactly the blocks of its computed (and scheduled) tokens; every request
    finishes; every block comes back."""
    budget = max_seqs + extra_budget
    s = make_scheduler(seqs=max_seqs, tokens=budget, blocks=blocks, block_size=block_size,
                       caching=caching, threshold=threshold)
    kv = s.kv_cache_manager
    reqs, lengths = [], {}

    def run_step(out_len: int) -> None:
        oldest = s.running[0].seq if s.running else None
        out = s.schedule()
        assert plain_data_problems(out) == []
        assert 0 < out.total_num_scheduled_tokens <= budget or not has_unfinished(s) \
            or s._capped
        assert all(n >= 1 for n in out.num_scheduled_tokens.values())
        assert threshold == 0 or all(n <= threshold for n in out.num_scheduled_tokens.values())
        if oldest is not None and oldest.status == SequenceStatus.RUNNING:
            assert oldest.seq_id in out.num_scheduled_tokens   # never starved
        for x in s.running:
            n = out.num_scheduled_tokens.get(x.seq.seq_id, 0)
            assert len(kv.get_block_ids(x.seq.seq_id)) == kv.num_blocks_for(
                x.seq.data.num_computed_tokens + n)

        def token(seq_id: int) -> int:   # EOS after ``out_len`` more tokens
            seq = next(x.seq for x in s.running if x.seq.seq_id == seq_id)
            stop = lengths.setdefault(seq_id, seq.data.get_prompt_len() + 1 + out_len)
            return EOS if seq.data.get_len() + 1 >= stop else TOKEN

        s.update_from_output(out, runner_output(s, out, token))

    for op, a in ops:
        if op == "add" and kv.num_blocks_for(a) <= blocks:   # the engine refuses larger prompts
            reqs.append(make_request(a))
            s.add_request(reqs[-1])
        elif op == "abort" and reqs:
            s.finish_requests([reqs[a % len(reqs)].request_id], SequenceStatus.FINISHED_ABORTED)
        elif op == "step":
            run_step(a)
    for _ in range(20_000):
        if not has_unfinished(s):
            break
        run_step(3)
    assert not has_unfinished(s) and all(r.is_finished() for r in reqs)
    assert kv.num_free_blocks() == blocks and not kv.seq_to_blocks

