"""The numbers the M4 learning notes quote, checked on the programs the page shows."""

from __future__ import annotations

from tests.docs.docs_tools import run_program


def test_hash_chain() -> None:
    ns = run_program("docs/snippets/m4/learn_hash_chain.py").namespace
    a, b, salted, block = ns["a"], ns["b"], ns["salted"], ns["B"]
    # Only full blocks are hashed: 53 // 16 and 65 // 16.
    assert (len(a), len(b)) == (53 // block, 65 // block) == (3, 4)
    # The prompts share 40 tokens: 2 whole blocks; block 2 mixes shared and own tokens.
    assert ns["same"] == 2 == 40 // block and a[:2] == b[:2] and a[2] != b[2]
    assert ns["h1"] != ns["h2"]
    assert len(salted) == 3 and not set(salted) & set(a)


def test_free_queue() -> None:
    run = run_program("docs/snippets/m4/learn_free_queue.py")
    ns, out = run.namespace, run.stdout
    # Freed tail first: the never-used blocks, then seq 0's tail, then its head.
    assert "seq 0 finished         free [3 4 5 2* 1* 0*]" in out
    # A hit unlinks blocks 0 and 1 from the middle of the queue (block 3 stays behind them).
    assert "seq 1 finished         free [4 5 2* 1* 0* 3]" in out
    assert "seq 2 hit blocks 0, 1  free [5 2* 3]" in out
    assert "held (id:ref) [0:2 1:2 4:1 5:1]" in out          # two holders of a shared block
    assert "seq 3: 11 tokens, 0 from the cache, table [2, 3, 5]" in out   # 2 evicted
    # Preempted: its partial tail (block 5) is reused first, its full blocks survive.
    assert ns["num_hit"] == 8 and [b.block_id for b in ns["hits"]] == [2, 3]
    assert ns["kv"].get_block_ids(4) == [5]


def test_hits() -> None:
    ns = run_program("docs/snippets/m4/learn_hits.py").namespace
    for p, n, cached, rule in ns["rows"]:
        assert cached == rule == min(p // 4, (n - 1) // 4) * 4
    assert [r[2] for r in ns["rows"]] == [0, 8, 8, 12, 16, 20]
    assert ns["same"] is True
    assert ns["first"] == [0, 0] and ns["again"] == [12, 12]
    assert ns["salted"] == [0, 0, 12]
    stats = ns["stats"]
    assert (stats.hits, stats.queries) == (100, 202) and round(100 * stats.hit_rate, 1) == 49.5


def test_ttft() -> None:
    ns = run_program("docs/snippets/m4/learn_ttft.py").namespace
    assert (ns["L"], ns["hit"]) == (139, 128) and ns["L"] - ns["hit"] == 11
    assert round(100 * ns["share"], 1) == 8.1
    assert ns["ttft_warm"] < ns["ttft_cold"] / 2
    assert ns["sha"] < ns["per_block"] / 1000 and 2 * ns["fast"] < ns["sha"]


def test_the_h200_numbers_the_pages_quote() -> None:
    """The learning notes and the benchmarks page: about 4x end to end, about 8x TTFT p50, three
    prompts in the first prefill step, 128 blocks found by each later one, the rule's hit rate;
    and no slowdown on the nano-vllm workload."""
    import json
    from pathlib import Path

    results = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "results"
    sp = json.loads((results / "m4-gpu-shared-prefix.json").read_text())
    on, off = (next(r for r in sp["results"] if r["engine"] == e)
               for e in ("folovllm", "folovllm-no-prefix-cache"))
    assert round(off["seconds"] / on["seconds"]) == 4 and off["seconds"] / on["seconds"] >= 2.5
    assert round(off["ttft_p50"] / on["ttft_p50"]) == 8 and off["ttft_p50"] / on["ttft_p50"] >= 5
    w = sp["workload"]
    length = w["prefix_len"] + w["input_len"]
    first = 8192 // length
    assert first == 3 and min(w["prefix_len"] // 16, (length - 1) // 16) == 128
    n = w["num_prompts"]
    assert on["prefix_cache_hit_rate"] == on["expected_prefix_cache_hit_rate"] == \
        (n - first) * 128 * 16 / (n * length)
    nano = json.loads((results / "m4-gpu-nanovllm.json").read_text())
    by = {r["engine"]: r["output_tokens_per_s"] for r in nano["results"]}
    assert by["folovllm"] >= by["folovllm-no-prefix-cache"]
