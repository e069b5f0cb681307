"""The claims the M5 interview answers rely on, checked on the programs the page shows.

Each program prints what the page shows (tests/docs/test_outputs.py compares the two); these
tests pin what the answers say about it, from the globals the programs leave.
"""

from __future__ import annotations

from statistics import mean

from tests.docs.docs_tools import run_program


def _ns(name: str) -> dict:
    return run_program(f"docs/snippets/m5/{name}.py").namespace


def test_step_loop_and_cost_model() -> None:
    ns = _ns("sched_loop")
    assert (ns["STEP_MS"], ns["TOKEN_MS"]) == (5.0, 0.025)   # the page states these
    assert ns["step_ms"](1000) == 30.0


def test_stall() -> None:
    serve = _ns("interview_stall")["serve"]
    off, on = serve(False, 8192), serve(True, 512)
    itl_off, itl_on = (m["chat0"].inter_token_latencies for m in (off, on))
    assert len(itl_off) == len(itl_on) == 39
    assert abs(mean(itl_off) - mean(itl_on)) < 0.5               # TPOT hides the stall...
    assert max(itl_off) > 100 and max(itl_on) < 20               # ...ITL shows it
    assert on["long"].ttft > off["long"].ttft                    # the long prompt pays


def test_mixed_step() -> None:
    trace = _ns("interview_mixed_step")["trace"]
    assert [(t.decode, t.prefill) for t in trace[1:5]] == [(3, 29)] * 3 + [(3, 13)]
    assert all(sum(t.tokens.values()) <= 32 for t in trace)
    assert list(trace[1].tokens) == ["a", "b", "c", "long"]     # running first
    assert "long" in trace[4].sampled and "long" not in trace[3].sampled


def test_no_logits() -> None:
    ns = _ns("interview_no_logits")
    assert ns["rows"] == [1, 1]               # four steps, the LM head in two of them
    assert ns["seq"].data.get_output_len() == 1


def test_oldest() -> None:
    ns = _ns("interview_oldest")
    assert all(ns["oldest_served"]) and max(ns["gaps"]) == 1
    assert len(ns["s"].waiting) > 0           # overloaded: the queue holds the rest


def test_threshold() -> None:
    first = _ns("interview_threshold")["first"]
    assert first[0] == {"long": 6, "short": 6}
    assert first[32] == {"short": 0, "long": 12}


def test_prefix() -> None:
    reqs = _ns("interview_prefix")["reqs"]
    assert [r.num_cached_tokens for r in reqs.values()] == [0, 64, 96]


def test_preempt() -> None:
    ns = _ns("interview_preempt")
    assert ns["s"].num_preemptions == 1       # the last run: cache off
    out = run_program("docs/snippets/m5/interview_preempt.py").stdout
    on, off = out.split("prefix cache off:")
    assert "step 3: {'b': 12}" in on          # resumed from its 3 cached blocks
    assert "step 3: {'b': 16}" in off and "step 4: {'b': 8}" in off


def test_layout() -> None:
    ns = _ns("interview_layout")
    md = ns["md"]
    assert md.query_start_loc.tolist() == [0, 1, 5, 8]
    assert md.seq_lens.tolist() == [5, 8, 7]
    assert ns["samples"].tolist() == [True, False, True]
    mask = ns["mask"]
    assert all(mask[i].sum() == 8 - 4 + i + 1 for i in range(4))   # keys 0..seq_len-q_len+i


def test_invariance() -> None:
    ns = _ns("interview_invariance")
    assert ns["ids"] == ns["whole"]           # the last budget, 64
    assert "same tokens True" in run_program(
        "docs/snippets/m5/interview_invariance.py").stdout.splitlines()[0]
    assert ns["diff"] < 1e-4


def test_slo() -> None:
    ns = _ns("interview_slo")
    results, step_ms = ns["results"], _ns("sched_loop")["step_ms"]
    worst = {b: w for b, (w, _) in results.items()}
    tput = [t for _, t in results.values()]
    assert tput == sorted(tput)                                  # bigger budget, more tokens/s
    assert all(abs(worst[b] - step_ms(b)) < 0.01 for b in worst if b < 8192)
    assert ns["best"] == 1024 and round(ns["given_up"], 2) == 0.02
    assert worst[2048] > ns["TARGET_MS"] >= worst[1024]


def test_cost() -> None:
    cost = _ns("interview_cost")["cost"]
    assert cost(512)[1] == cost(8192)[1]      # the same attention scores
    assert cost(512)[0] == 16 and cost(512)[2] == 61_440


def test_memory() -> None:
    ns = _ns("interview_memory")
    assert (ns["h"], ns["inter"], ns["vocab"]) == (1024, 3072, 151_936)
    assert ns["every"] == 32768 * 151_936 * 4


def test_decode_maximal() -> None:
    out = run_program("docs/snippets/m5/interview_decode_maximal.py").stdout.splitlines()[1:]
    rows = [tuple(line.split()[:3]) for line in out]
    assert rows == [("0", "64", "8"), ("16", "48", "11"), ("48", "16", "32"),
                    ("63", "1", "512")]


def test_policies() -> None:
    serve = _ns("interview_policies")["serve"]
    chunked, whole = serve(True, 512), serve(False, 4096)
    assert chunked[0]["mixed"] > 0 and "mixed" not in whole[0]   # nano-vllm never mixes
    assert chunked[1] < 20 < 80 < whole[1]


def test_disabled() -> None:
    out = run_program("docs/snippets/m5/interview_disabled.py").stdout
    assert "chunked, default budget: 8192" in out
    assert "not chunked, default budget: 40960" in out
    assert out.count("refused:") == 2


def test_testing() -> None:
    check = _ns("interview_testing")["check"]
    ns = _ns("interview_testing")
    assert check(ns["Scheduler"]) == "150 random cases passed"
    assert "oldest running request" in check(ns["NewestFirst"])
