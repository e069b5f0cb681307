"""M4: automatic prefix caching — same tokens with the cache on and off, exact hit accounting,
isolation of different prefixes and tenants, and the block pool's invariants under random use."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from folovllm import LLM, SamplingParams
from folovllm.core.block_pool import BlockPool
from folovllm.core.kv_cache_manager import KVCacheManager
from folovllm.core.kv_cache_utils import ROOT_HASH, extend_block_hashes, hash_block_tokens
from folovllm.sequence import Sequence, SequenceData
from tests.kv_checks import check_block_accounting

GREEDY = SamplingParams(temperature=0, max_tokens=6, ignore_eos=True)
B = 4  # block size of the small engines


def _llm(model_dir, **kw) -> LLM:
    kw = {"device": "cpu", "block_size": B, "dtype": "float32", **kw}
    return LLM(str(model_dir), **kw)


def _ids(outs) -> list[list[int]]:
    return [c.token_ids for o in outs for c in o.outputs]


def _run_one_by_one(llm: LLM, prompts, params=GREEDY):
    """Each prompt in its own generate: the later ones find the earlier ones' blocks."""
    return [llm.generate({"prompt_token_ids": p}, params, use_tqdm=False)[0] for p in prompts]


def _shared(prefix_len: int, suffix_lens=(1, 3, 4, 5, 9)) -> list[list[int]]:
    """Prompts that share ``prefix_len`` tokens, then differ."""
    prefix = [(7 * i) % 90 + 5 for i in range(prefix_len)]
    return [prefix + [100 + j * 11 + k for k in range(n)] for j, n in enumerate(suffix_lens)]


# ---- cache invariance -----------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["llama", "qwen2", "qwen3"])
@pytest.mark.parametrize("prefix_len", [B - 1, B, B + 1, 3 * B, 3 * B + 2])
def test_greedy_tokens_are_the_same_with_the_cache_on_and_off(tiny_model_dirs, arch,
                                                              prefix_len) -> None:
    prompts = _shared(prefix_len)
    on = _llm(tiny_model_dirs[arch])
    off = _llm(tiny_model_dirs[arch], enable_prefix_caching=False)
    cached = _run_one_by_one(on, prompts)
    assert _ids(cached) == _ids(_run_one_by_one(off, prompts))
    assert _ids(on.generate([{"prompt_token_ids": p} for p in prompts], GREEDY,
                            use_tqdm=False)) == _ids(cached)   # all at once, all hits
    assert sum(o.num_cached_tokens for o in cached) > 0 or prefix_len < B


def test_default_model_same_answers_with_the_cache(default_model_dir) -> None:
    system = "You are a concise assistant. Answer in one short sentence. " * 3
    prompts = [system + q for q in ("What is the capital of France?", "Name a prime number.",
                                    "What colour is the sky?")]
    params = SamplingParams(temperature=0, max_tokens=12)
    on = LLM(str(default_model_dir), device="cpu")
    off = LLM(str(default_model_dir), device="cpu", enable_prefix_caching=False)
    first = on.generate(prompts[:1], params, use_tqdm=False)
    rest = on.generate(prompts[1:], params, use_tqdm=False)
    assert first[0].num_cached_tokens == 0
    assert all(o.num_cached_tokens >= 16 for o in rest)
    assert _ids(first + rest) == _ids(off.generate(prompts, params, use_tqdm=False))


def test_same_tokens_under_preemption_eviction_abort_and_n(tiny_model_dirs) -> None:
    """A cache too small for the batch: blocks are evicted and sequences preempted (they resume
    from their own cached blocks when those survive); seeded n > 1 and an aborted request."""
    prompts = _shared(2 * B + 1, suffix_lens=(2, 5, 7, 3, 6, 1))
    seeded = SamplingParams(temperature=0.9, seed=3, n=2, max_tokens=10, ignore_eos=True)
    small = {"num_gpu_blocks": 14, "max_num_seqs": 6}
    on = _llm(tiny_model_dirs["qwen2"], **small)
    off = _llm(tiny_model_dirs["qwen2"], enable_prefix_caching=False, **small)
    for params in (GREEDY, seeded):
        ref = _ids(off.generate([{"prompt_token_ids": p} for p in prompts], params,
                                use_tqdm=False))
        for _ in range(2):  # the second pass starts with a warm cache
            got = on.generate([{"prompt_token_ids": p} for p in prompts], params,
                              use_tqdm=False)
            assert _ids(got) == ref
    assert on.llm_engine.scheduler.num_preemptions > 0
    engine = on.llm_engine
    a = engine.add_request({"prompt_token_ids": prompts[0]}, GREEDY)
    engine.step()
    engine.abort_request(a)   # drops its references; the cached contents stay for others
    check_block_accounting(engine)
    assert _ids(on.generate({"prompt_token_ids": prompts[0]}, GREEDY, use_tqdm=False)) == \
        _ids(off.generate({"prompt_token_ids": prompts[0]}, GREEDY, use_tqdm=False))


# ---- hit accounting -------------------------------------------------------------------------
@pytest.mark.parametrize("prefix_len", [B - 1, B, B + 1, 2 * B, 2 * B + 3])
def test_each_later_prompt_reports_the_full_blocks_of_the_shared_prefix(tiny_model_dirs,
                                                                       prefix_len) -> None:
    """The rule: a prompt of L tokens sharing P tokens with an earlier one gets
    min(P // B, (L - 1) // B) * B tokens from the cache: whole blocks only, and never the block
    holding the last prompt token (the model must compute at least one token)."""
    llm = _llm(tiny_model_dirs["llama"])
    prompts = _shared(prefix_len)
    outs = _run_one_by_one(llm, prompts)
    assert outs[0].num_cached_tokens == 0
    for p, o in zip(prompts[1:], outs[1:]):
        assert o.num_cached_tokens == min(prefix_len // B, (len(p) - 1) // B) * B


def test_a_full_hit_still_computes_the_last_block(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["llama"])
    prompt = list(range(10, 10 + 3 * B))          # a whole number of blocks
    first, again = _run_one_by_one(llm, [prompt, prompt])
    assert (first.num_cached_tokens, again.num_cached_tokens) == (0, 2 * B)
    assert again.outputs[0].token_ids == first.outputs[0].token_ids


def test_engine_counts_queries_and_hits_in_tokens(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["qwen3"])
    prompts = _shared(2 * B, suffix_lens=(3, 3, 3))
    _run_one_by_one(llm, prompts)
    stats = llm.llm_engine.prefix_cache_stats
    assert stats.queries == sum(map(len, prompts))
    assert stats.hits == 2 * (2 * B)
    assert stats.hit_rate == pytest.approx(stats.hits / stats.queries)


# ---- isolation ------------------------------------------------------------------------------
def test_same_block_after_a_different_prefix_never_hits(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["llama"])
    block = [50, 51, 52, 53]
    outs = _run_one_by_one(llm, [[1, 2, 3, 4] + block + [9], [5, 6, 7, 8] + block + [9]])
    assert [o.num_cached_tokens for o in outs] == [0, 0]
    h1 = hash_block_tokens(hash_block_tokens(ROOT_HASH, [1, 2, 3, 4]), block)
    h2 = hash_block_tokens(hash_block_tokens(ROOT_HASH, [5, 6, 7, 8]), block)
    assert h1 != h2


def test_a_cache_salt_isolates_tenants(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["llama"])
    prompt = list(range(20, 20 + 3 * B + 1))

    def run(salt):
        p = {"prompt_token_ids": prompt} if salt is None else \
            {"prompt_token_ids": prompt, "cache_salt": salt}
        return llm.generate(p, GREEDY, use_tqdm=False)[0]

    a, b, a2, plain = run("tenant-a"), run("tenant-b"), run("tenant-a"), run(None)
    assert (a.num_cached_tokens, b.num_cached_tokens) == (0, 0)
    assert a2.num_cached_tokens == 3 * B and plain.num_cached_tokens == 0
    assert a.outputs[0].token_ids == b.outputs[0].token_ids == plain.outputs[0].token_ids
    for bad in ("", 7):
        with pytest.raises(ValueError, match="cache_salt=.* is invalid"):
            llm.generate({"prompt_token_ids": prompt, "cache_salt": bad}, use_tqdm=False)


def test_reset_prefix_cache_is_refused_while_running_and_forgets_when_idle(tiny_model_dirs) -> None:
    llm = _llm(tiny_model_dirs["llama"])
    prompt = list(range(30, 30 + 2 * B + 1))
    _run_one_by_one(llm, [prompt])
    engine = llm.llm_engine
    rid = engine.add_request({"prompt_token_ids": prompt}, GREEDY)
    engine.step()
    assert llm.reset_prefix_cache() is False        # a running request holds blocks
    engine.abort_request(rid)
    assert llm.reset_prefix_cache() is True
    assert not engine.kv_cache_manager.block_pool.cached_block_hash_to_block
    assert _run_one_by_one(llm, [prompt])[0].num_cached_tokens == 0


# ---- the block pool itself --------------------------------------------------------------------
def test_free_queue_is_lru_and_a_hit_leaves_it_from_the_middle() -> None:
    pool = BlockPool(6, enable_caching=True)
    a = pool.get_new_blocks(3)
    pool.free_blocks(list(reversed(a)))            # a sequence frees tail first
    order = [b.block_id for b in pool.free_block_queue.blocks()]
    assert order == [3, 4, 5, 2, 1, 0]             # never-used first, then the tail of `a`
    pool.cache_full_block(a[1], b"h1")
    pool.touch([a[1]])                             # a hit on a free cached block
    assert [b.block_id for b in pool.free_block_queue.blocks()] == [3, 4, 5, 2, 0]
    assert pool.get_num_free_blocks() == 5
    got = pool.get_new_blocks(5)                   # takes everything; nothing cached among them
    assert [b.block_id for b in got] == [3, 4, 5, 2, 0]
    pool.free_blocks([a[1]])
    assert pool.get_cached_block(b"h1") is a[1]    # freed, still cached
    (again,) = pool.get_new_blocks(1)              # reused for new contents: evicted
    assert again is a[1] and pool.get_cached_block(b"h1") is None and again.block_hash is None


def test_block_hashes_are_computed_once_per_full_block() -> None:
    hashes: list[bytes] = []
    extend_block_hashes(hashes, list(range(10)), 4)
    first = list(hashes)
    assert len(hashes) == 2
    extend_block_hashes(hashes, list(range(13)), 4)
    assert hashes[:2] == first and len(hashes) == 3
    assert hashes[1] == hash_block_tokens(hashes[0], [4, 5, 6, 7])


_seq_ids = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "grow", "free", "preempt"]),
                              st.integers(0, 5), st.integers(1, 14)), max_size=40))
def test_random_add_grow_free_keeps_every_invariant(ops) -> None:
    """Random admissions (with cache lookups), growth, frees and preemptions on a small pool:
    ref counts equal holders, each hashed block is mapped once under its own hash, the free
    queue holds exactly the unreferenced blocks, and a held block is never evicted."""
    kv = KVCacheManager(num_blocks=12, block_size=B, enable_caching=True)
    live: dict[int, Sequence] = {}
    prefixes = [[1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 9, 9, 9, 9], [5] * 8]
    for op, k, n in ops:
        if op == "add":
            seq = Sequence(next(_seq_ids), SequenceData(tuple(prefixes[k % 3] + [k] * (n % 5 + 1))))
            hits, num_hit = kv.get_computed_blocks(seq)
            assert num_hit <= seq.data.get_len() - 1
            if kv.allocate_slots(seq.seq_id, seq.data.get_len(), hits) is not None:
                seq.data.num_computed_tokens = seq.data.get_len()
                kv.cache_blocks(seq)
                live[seq.seq_id] = seq
        elif live:
            seq = list(live.values())[k % len(live)]
            if op == "grow":
                seq.data.append_token_id(n, 0.0)
                if kv.allocate_slots(seq.seq_id, seq.data.get_len()) is not None:
                    seq.data.num_computed_tokens = seq.data.get_len()
                    kv.cache_blocks(seq)
                else:
                    kv.free(seq.seq_id)
                    del live[seq.seq_id]
            else:
                kv.free(seq.seq_id, keep_hashes=op == "preempt")
                del live[seq.seq_id]
        _check_pool(kv, live)
    for seq_id in list(live):
        kv.free(seq_id)
    assert kv.num_free_blocks() == kv.num_blocks


def _check_pool(kv: KVCacheManager, live: dict[int, Sequence]) -> None:
    pool = kv.block_pool
    holders: dict[int, int] = {}
    for seq_id in live:
        for b in kv.get_block_ids(seq_id):
            holders[b] = holders.get(b, 0) + 1
    assert all(b.ref_cnt == holders.get(b.block_id, 0) for b in pool.blocks)
    free = pool.free_block_queue.blocks()
    assert {b.block_id for b in free} == {b.block_id for b in pool.blocks if b.ref_cnt == 0}
    assert len(free) == pool.get_num_free_blocks()
    hashed = [b for b in pool.blocks if b.block_hash is not None]
    assert len(hashed) == len(pool.cached_block_hash_to_block)
    assert all(pool.cached_block_hash_to_block[b.block_hash] is b for b in hashed)
    for seq_id, seq in live.items():   # a held full block keeps the hash of its own tokens
        hashes: list[bytes] = []
        extend_block_hashes(hashes, seq.data.get_token_ids(), B)
        for block_id, h in zip(kv.get_block_ids(seq_id), hashes):
            block = pool.blocks[block_id]
            assert block.block_hash in (None, h)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_traffic_with_sharing_matches_the_uncached_engine(tiny_model_dirs, data) -> None:
    """Random prompts over three shared prefixes, arriving and aborted at random on a small
    cache: every request that was not aborted gets the tokens of an engine without a cache, and
    the block accounting holds after every step."""
    on = _engines(tiny_model_dirs)["on"]
    engine = on.llm_engine
    plan = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(1, 9), st.booleans()),
                              min_size=1, max_size=8), label="plan")
    prefixes = [list(range(3, 3 + 2 * B)), list(range(3, 3 + B)) + [60] * B, [77] * (B + 2)]
    prompts = {f"r{i}": prefixes[k] + [90 + i] * n for i, (k, n, _) in enumerate(plan)}
    done, aborted = {}, set()
    for i, (_, _, abort) in enumerate(plan):
        engine.add_request({"prompt_token_ids": prompts[f"r{i}"]}, GREEDY, request_id=f"r{i}")
        for out in engine.step():
            done[out.request_id] = out
        check_block_accounting(engine)
        if abort and f"r{i - 1}" in prompts and f"r{i - 1}" not in done:
            engine.abort_request(f"r{i - 1}")
            aborted.add(f"r{i - 1}")
    while engine.has_unfinished_requests():
        for out in engine.step():
            done[out.request_id] = out
        check_block_accounting(engine)
    ref = _reference(tiny_model_dirs)
    for rid, p in prompts.items():
        if rid not in aborted:
            assert done[rid].outputs[0].token_ids == ref(p), rid


_ENGINES: dict[str, LLM] = {}
_REF: dict[tuple[int, ...], list[int]] = {}


def _engines(tiny_model_dirs) -> dict[str, LLM]:
    if not _ENGINES:
        _ENGINES["on"] = _llm(tiny_model_dirs["qwen3"], num_gpu_blocks=16, max_num_seqs=4)
        _ENGINES["off"] = _llm(tiny_model_dirs["qwen3"], enable_prefix_caching=False)
    return _ENGINES


def _reference(tiny_model_dirs):
    off = _engines(tiny_model_dirs)["off"]

    def ref(prompt: list[int]) -> list[int]:
        key = tuple(prompt)
        if key not in _REF:
            _REF[key] = off.generate({"prompt_token_ids": prompt}, GREEDY,
                                     use_tqdm=False)[0].outputs[0].token_ids
        return _REF[key]
    return ref


# ---- the benchmark ----------------------------------------------------------------------------
def test_bench_shared_prefix_measures_the_hit_rate_the_rule_predicts(tiny_model_dirs, tmp_path,
                                                                      capsys) -> None:
    import json

    from folovllm.entrypoints.cli import main

    path = tmp_path / "sp.json"
    rc = main(["bench", "--workload", "shared-prefix", "--model", str(tiny_model_dirs["llama"]),
               "--device", "cpu", "--engines", "folovllm,folovllm-no-prefix-cache",
               "--num-prompts", "6", "--prefix-len", "40", "--input-len", "8",
               "--output-len", "3", "--repeats", "2", "--max-model-len", "64",
               "--output-json", str(path)])
    assert rc == 0
    on, off = json.loads(path.read_text())["results"]
    assert (on["engine"], off["engine"]) == ("folovllm", "folovllm-no-prefix-cache")
    # max_num_batched_tokens = 8192 admits all six 48-token prompts in the first step: all miss
    assert on["prefix_cache_hit_rate"] == on["expected_prefix_cache_hit_rate"] == 0.0
    assert off["prefix_cache_hit_rate"] == 0.0 and off["expected_prefix_cache_hit_rate"] is None
    assert "Prefix cache hit rate of folovllm: 0.0% (the caching rule predicts 0.0%)." \
        in capsys.readouterr().out


@pytest.mark.parametrize("chunked, first", [(False, 2), (True, 3)])
def test_expected_hit_rate_counts_the_first_step_as_misses(tiny_model_dirs, chunked,
                                                            first) -> None:
    """Two 48-token prompts fit a budget of 100; with chunked prefill the first step also
    admits a 4-token chunk of a third, which misses too."""
    from folovllm.benchmarks.throughput import _OurEngine
    from folovllm.benchmarks.workload import Workload

    w = Workload("shared-prefix", num_prompts=10, prefix_len=40, input_len=8, output_len=2,
                 repeats=1)
    kwargs = {"model": str(tiny_model_dirs["llama"]), "device": "cpu", "max_model_len": 64,
              "max_num_batched_tokens": 100, "enable_chunked_prefill": chunked}
    engine = _OurEngine(kwargs, w.num_prompts)
    prompts, out_lens = w.requests(384)   # the tiny vocabulary
    result = engine.run(prompts, out_lens, 0.0)
    expected = engine.expected_hit_rate(w, prompts)
    assert expected == (10 - first) * 32 / (10 * 48)        # B = 16: two full blocks of 40
    assert result.prefix_cache_hit_rate == expected
