"""The claims the M4 interview answers rely on, checked on the programs the page shows.

Each program prints what the page shows (tests/docs/test_outputs.py compares the two); these
tests pin what the answers say about it, from the globals the programs leave.
"""

from __future__ import annotations

import hashlib
import math
import timeit

from folovllm.core.kv_cache_utils import ROOT_HASH, hash_block_tokens
from tests.docs.docs_tools import run_program


def _ns(name: str) -> dict:
    return run_program(f"docs/snippets/m4/interview_{name}.py").namespace


def test_workloads() -> None:
    ns = _ns("workloads")
    assert ns["questions"] == [0, 24, 24]        # the 24-token system prompt, whole blocks
    assert ns["turns"] == [0, 16, 24]            # earlier turns and their computed replies
    stats = ns["stats"]
    assert stats.queries == 3 * 29 + 11 + 20 + 29
    assert stats.hits == 24 + 24 + 16 + 24
    assert round(stats.hit_rate, 2) == 0.60


def test_hash_chain() -> None:
    ns = _ns("hash_chain")
    a, b, ha, hb = ns["a"], ns["b"], ns["ha"], ns["hb"]
    assert len(ha) == len(a) // 4 == 2           # the partial block is not hashed
    assert a[4:8] == b[4:8] and ha[1] != hb[1]   # same tokens, other prefix: other hash
    assert ha[1] == hash_block_tokens(hash_block_tokens(ROOT_HASH, a[:4]), a[4:8])
    assert "same 9 tokens: 2 of 3 blocks found" in run_program(
        "docs/snippets/m4/interview_hash_chain.py").stdout


def test_hash_inputs() -> None:
    ns = _ns("hash_inputs")
    plain, salted, prompt = ns["plain"], ns["salted"], ns["prompt"]
    assert all(p != s for p, s in zip(plain, salted))
    # the salt goes into block 0 only: block 1 is an unsalted hash of a salted parent
    assert salted[1] == hash_block_tokens(salted[0], prompt[4:8])
    # the snippet's encoding is the one the engine hashes
    ids = prompt[:4]
    assert hash_block_tokens(ROOT_HASH, ids) == \
        hashlib.sha256(ROOT_HASH + ns["as_u32"](ids)).digest()
    assert ns["as_text"]([1, 23]) == ns["as_text"]([12, 3])


def test_hash_choice() -> None:
    ns = _ns("hash_choice")
    assert len(ns["runs"]) == 2                  # hash() of a str: salted per process
    found, expected = len(ns["seen"]) + 1, math.sqrt(math.pi / 2 * 2**32)
    assert expected / 3 < found < 3 * expected   # the birthday bound, about 2^16
    per_block = timeit.timeit(lambda: hash_block_tokens(ROOT_HASH, range(16)),
                              number=2000) / 2000
    assert per_block < 10e-6                     # "well under 10 µs per 16-token block"


def test_last_token() -> None:
    rows = _ns("last_token")["rows"]
    assert all(rule == engine for _, _, _, rule, engine in rows)
    assert rows[0][1:] == (12, 12, 8, 8)         # a full hit still computes the last block


def test_refcount() -> None:
    states = _ns("refcount")["states"]
    assert states["both running"] == [(2, True), (2, True), (1, False)]
    assert states["1 finished"] == [(0, True), (0, True), (0, False)]  # free but cached
    assert states["2 running"][:2] == [(1, True), (1, True)]
    assert states["all reused"] == [(1, False)] * 3                     # evicted
    assert not _ns("refcount")["pool"].cached_block_hash_to_block


def test_free_queue() -> None:
    ns = _ns("free_queue")
    orders = ns["orders"]
    assert orders[1] == [4, 5, 1, 0, 3, 2]       # freed tail first, in the order freed
    assert orders[2] == [4, 5, 1, 3, 2]          # the hit left from the middle
    assert [b.block_id for b in ns["new"]] == [4, 5, 1]


def test_tail_first() -> None:
    results = _ns("tail_first")["results"]
    assert results[True] == (8, 2)               # head kept: the prefix still hits
    assert results[False] == (0, 1)              # a block still cached, but unreachable


def test_preempt_abort() -> None:
    ns = _ns("preempt_abort")
    assert ns["after_abort"] == [1, 1]           # only a's references went
    assert ns["engine"].scheduler.num_preemptions == 1
    (total, from_cache), = ns["resumed"]
    assert from_cache > len(ns["prefix"])        # more than the prefix others still hold


def test_when_cached() -> None:
    ns = _ns("when_cached")
    assert [o.num_cached_tokens for o in ns["same_step"]] == [0, 0]
    assert ns["later"][0].num_cached_tokens == 12
    assert ns["bad"][0].outputs[0].finish_reason == "abort"
    assert ns["again"][0].num_cached_tokens == 0


def test_hit_rate() -> None:
    ns = _ns("hit_rate")
    rate, computed = ns["serve"](False)
    assert rate == 0 and computed == [29] * 4    # one step: nothing to find yet
    rate, computed = ns["serve"](True)
    assert computed == [29, 5, 5, 5] and rate == 3 * 24 / (4 * 29)


def test_budget() -> None:
    plans = _ns("budget")["plans"]
    assert plans[False] == [{f"r{i}": 40} for i in range(4)]
    assert plans[True] == [{"r0": 40}, {"r1": 8, "r2": 8, "r3": 8}]
    assert sum(plans[True][1].values()) <= 48    # the budget counts only computed tokens


def test_sampling() -> None:
    ns = _ns("sampling")
    on, off = ns["on_second"], ns["off_second"]
    assert on.num_cached_tokens == 16 and off.num_cached_tokens == 0
    assert [c.token_ids for c in on.outputs] == [c.token_ids for c in off.outputs]
    assert len({tuple(c.token_ids) for c in on.outputs}) > 1   # really different samples


def test_memory() -> None:
    ns = _ns("memory")
    assert ns["fits"] == {False: (4, 28), True: (8, 6 + 8)}
    assert ns["big_fits"] is True


def test_radix() -> None:
    ns = _ns("radix")
    out = run_program("docs/snippets/m4/interview_radix.py").stdout.splitlines()[1:]
    rows = [tuple(map(int, line.split())) for line in out]
    assert rows == [(s, s // 16 * 16, s) for s in (15, 16, 40, 99)]
    assert ns["B"] == 16


def test_tenants() -> None:
    outs = _ns("tenants")["outs"]
    cached = [o.num_cached_tokens for o in outs.values()]
    assert cached == [0, 12, 0, 0, 12]


def test_testing() -> None:
    ns = _ns("testing")
    assert "held blocks in the free queue" in ns["caught"]


def test_reset() -> None:
    ns = _ns("reset")
    assert ns["stale"].num_cached_tokens == 16
    assert ns["stale"].outputs[0].token_ids != ns["want"].token_ids
    assert ns["after"].num_cached_tokens == 0
    assert ns["after"].outputs[0].token_ids == ns["want"].token_ids
