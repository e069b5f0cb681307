"""The numbers the M5 learning notes quote, checked on the programs the page shows."""

from __future__ import annotations

from tests.docs.docs_tools import run_program


def test_trace_decodes_keep_streaming_while_a_long_prompt_is_chunked() -> None:
    run = run_program("docs/snippets/m5/learn_trace.py")
    ns, out = run.namespace, run.stdout
    # Chunked: every step of D's prefill carries the three decodes; 42 = 13 + 13 + 13 + 3.
    for step in (3, 4, 5):
        assert f"step  {step}: 16 = 3 decode + 13 prefill   A:1 B:1 C:1 D:13" in out
    assert "step  6:  6 = 3 decode +  3 prefill   A:1 B:1 C:1 D:3" in out
    assert ns["on"]["A"] == [1, 2, 3, 4, 5, 6] and ns["on"]["D"][0] == 6
    # Without chunks: one step of D's whole prompt, and no decode in it.
    assert "step  3: 42 = 0 decode + 42 prefill   D:42" in out
    assert ns["off"]["A"] == [1, 2, 4, 5, 6, 7] and ns["off"]["D"][0] == 3
    # The worst wait of a decode: one 16-token step, against the 42-token prefill + a decode.
    worst = ns["worst_wait"]
    assert worst(ns["on"]["A"], ns["on_work"]) == 16
    assert worst(ns["off"]["A"], ns["off_work"]) == 42 + 4
    assert (len(ns["on_work"]), len(ns["off_work"])) == (11, 8)   # more, smaller steps


def test_budget_trades_steps_for_the_decodes_wait() -> None:
    run = run_program("docs/snippets/m5/learn_budget.py")
    arrives = run.namespace["long_prompt_arrives"]
    # 8 decodes leave budget - 8 tokens a step for the 512-token prompt.
    for budget, steps in ((32, 22), (128, 5), (512, 2)):
        assert arrives(budget) == (steps, budget, budget) == (-(-512 // (budget - 8)), budget,
                                                               budget)
    assert arrives(1024, chunked=False) == (1, 512, 512 + 9)
    assert "threshold  0: step 1 [256], step 2 [44, 212]" in run.stdout
    assert "threshold 64: step 1 [64, 64, 64], step 2 [64, 64, 64]" in run.stdout


def test_itl_p99_shows_what_tpot_hides() -> None:
    ns = run_program("docs/snippets/m5/learn_itl.py").namespace
    assert len(ns["gaps"]) == 100 and len(ns["stalls"]) == 4
    assert round(ns["tpot"] * 1000, 1) == 39.2 == (96 * 20 + 4 * 500) / 100
    assert round(ns["p50"] * 1000, 1) == 20.0 and round(ns["p99"] * 1000, 1) == 500.0


def test_chunks_compose_with_the_prefix_cache_and_preemption() -> None:
    run = run_program("docs/snippets/m5/learn_compose.py")
    ns, out = run.namespace, run.stdout
    # 20 shared tokens = 5 blocks of 4 (the rule: min(20 // 4, 30 // 4) * 4); 11 left, chunked.
    assert ns["second"].num_cached_tokens == 20 == min(20 // 4, 30 // 4) * 4
    assert ns["chunks"] == [8, 3]
    # b is preempted with 13 tokens computed and resumes from its 3 full blocks.
    assert "step 3: scheduled {0: 1, 1: 7}, b running, 13 computed" in out
    assert "step 4: scheduled {0: 1}, b preempted, 0 computed" in out
    assert ns["resumed_at"] == 12 == 13 // 4 * 4
    assert "step 7: scheduled {1: 6}, b running, 18 computed" in out


def test_the_measured_numbers_the_pages_quote() -> None:
    """The H200 and CPU figures of "The numbers" come from the results files."""
    import json
    from pathlib import Path

    results = Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "results"

    def latencies(name: str) -> list[str]:
        by = {r["engine"]: r for r in json.loads((results / name).read_text())["results"]}
        on, off = by["folovllm"], by["folovllm-no-chunked-prefill"]
        return [f"{r[k] * 1000:.1f}" for k in ("itl_p99", "tpot_p99") for r in (off, on)]

    run1, run2 = latencies("m5-gpu-long-prompt.json"), latencies("m5-gpu-long-prompt-2.json")
    cpu = latencies("m5-cpu-long-prompt.json")
    assert run1 == ["84.3", "42.4", "34.2", "32.7"] and run2 == ["84.7", "25.2", "35.9", "20.1"]
    assert cpu[:2] == ["2537.8", "648.1"]
    for page in ("learn.md", "learn.zh.md"):
        text = (Path(__file__).resolve().parents[2] / "docs/milestones/m5" / page).read_text()
        for n in (*run1, *run2, *cpu[:2]):
            assert n in text, (page, n)
