"""Benchmark numbers in the docs come from committed results files, rendered by code."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest

from benchmarks.gemm import format_table as format_gemm_table
from benchmarks.kernels import decode_bytes
from benchmarks.kernels import format_table as format_kernel_table
from benchmarks.ladder import format_ladder
from benchmarks.memory import compare, format_memory_table
from benchmarks.plot import render_ladder_svg, render_step_time_svg, render_svg
from benchmarks.step_time import format_table as format_step_time_table
from benchmarks.summary import decode_bound, render_summary, workload_bound
from benchmarks.transport import TRANSPORTS, describe, steps
from benchmarks.transport import format_table as format_transport_table
from folovllm.benchmarks.throughput import format_table
from tests.docs.docs_tools import DOCS, RESULT_TABLES, RESULTS

_ALL = sorted(RESULTS.glob("*.json"))
_JSON = [p for p in _ALL if "results" in json.loads(p.read_text())]      # one bench run each
_LADDERS = [p for p in _ALL if "rungs" in json.loads(p.read_text())]   # one rung per tag
_MEMORY = [p for p in _ALL if json.loads(p.read_text()).get("benchmark") == "kv-concurrency"]
_KERNELS = [p for p in _ALL if "decode_gbps" in json.loads(p.read_text())]
_GEMM = [p for p in _ALL if json.loads(p.read_text()).get("benchmark") == "cpu-gemm"]
_STEPS = [p for p in _ALL if json.loads(p.read_text()).get("benchmark") == "decode-step-time"]
_TRANSPORT = [p for p in _ALL
              if json.loads(p.read_text()).get("benchmark") == "scheduler-output-transport"]


def test_every_results_file_is_of_a_known_kind() -> None:
    assert set(_ALL) == (set(_JSON) | set(_LADDERS) | set(_MEMORY) | set(_KERNELS) | set(_GEMM)
                         | set(_STEPS) | set(_TRANSPORT))


def test_there_are_results() -> None:
    assert _JSON, "docs/benchmarks/results/ holds no results file"


@pytest.mark.parametrize("path", _JSON, ids=lambda p: p.name)
def test_table_is_rendered_from_its_json(path: Path) -> None:
    """The Markdown table the docs include is exactly what the JSON renders to."""
    result = json.loads(path.read_text())
    table = RESULT_TABLES / (path.stem + ".md")
    assert table.is_file(), f"{table.name} missing: render it with format_table"
    assert table.read_text() == format_table(result)


@pytest.mark.parametrize("path", _JSON, ids=lambda p: p.name)
def test_results_are_consistent(path: Path) -> None:
    """Every derived number in a results file agrees with the measured ones."""
    result = json.loads(path.read_text())
    by = {r["engine"]: r for r in result["results"]}
    for r in by.values():
        assert r["output_tokens_per_s"] == pytest.approx(r["output_tokens"] / r["seconds"], abs=0.01)
    base = by["transformers"]["output_tokens_per_s"] if "transformers" in by else None
    for r in by.values():  # the ratio column (M2+ files) or the top-level ratio (M1 file)
        if "vs_transformers" in r:
            assert r["vs_transformers"] == (None if base is None else pytest.approx(
                r["output_tokens_per_s"] / base, abs=0.002))
        if r.get("expected_prefix_cache_hit_rate") is not None:   # M4: the rule holds exactly
            assert r["prefix_cache_hit_rate"] == pytest.approx(r["expected_prefix_cache_hit_rate"],
                                                               abs=1e-12)
    if "ratio" in result:
        assert result["ratio"] == pytest.approx(by["folovllm"]["output_tokens_per_s"] / base,
                                                abs=0.002)
    assert result["command"].startswith("folovllm bench")


_PLOTS = DOCS / "benchmarks" / "plots"


@pytest.mark.parametrize("path", _JSON, ids=lambda p: p.name)
def test_plot_is_drawn_from_its_json(path: Path) -> None:
    """``python -m benchmarks.plot`` re-draws exactly the committed chart."""
    svg = _PLOTS / f"{path.stem}.svg"
    assert svg.is_file(), f"{svg.name} missing: run python -m benchmarks.plot"
    assert svg.read_text() == render_svg(json.loads(path.read_text()), path.stem)


def test_charts_carry_no_date_or_version() -> None:
    """What would change between two draws of the same numbers stays out of the file."""
    result = json.loads(_JSON[0].read_text())
    svg = render_svg(result, "x")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert svg == render_svg(result, "x")


@pytest.mark.parametrize("path", _LADDERS, ids=lambda p: p.name)
def test_ladder_table_and_chart_are_drawn_from_its_json(path: Path) -> None:
    ladder = json.loads(path.read_text())
    assert (RESULT_TABLES / f"{path.stem}.md").read_text() == format_ladder(ladder)
    assert (_PLOTS / f"{path.stem}.svg").read_text() == render_ladder_svg(ladder, path.stem)
    tags = [r["tag"] for r in ladder["rungs"]]
    assert tags == sorted(tags) and ladder["command"].startswith("python -m benchmarks.ladder")
    for rung in ladder["rungs"]:  # every rung is a real, recorded milestone commit
        assert rung["skipped"] or rung["folovllm"] > 0 and rung["transformers"] > 0
        assert len(rung["commit"]) == 40


@pytest.mark.parametrize("path", _MEMORY, ids=lambda p: p.name)
def test_memory_results_are_what_the_simulation_gives(path: Path) -> None:
    """The scheduler simulation is deterministic: re-running it reproduces the file exactly."""
    result = json.loads(path.read_text())
    assert (RESULT_TABLES / f"{path.stem}.md").read_text() == format_memory_table(result)
    assert result["command"].startswith("python -m benchmarks.memory")
    for case in result["cases"]:
        rows = compare(result["kv_cache_bytes"], case["max_model_len"],
                       num_prompts=result["num_prompts"])
        assert [asdict(r) for r in rows] == case["rows"]


@pytest.mark.parametrize("path", _KERNELS, ids=lambda p: p.name)
def test_kernel_results_are_consistent_and_rendered(path: Path) -> None:
    result = json.loads(path.read_text())
    assert (RESULT_TABLES / f"{path.stem}.md").read_text() == format_kernel_table(result)
    shapes = result["shapes"]
    assert result["decode_bytes"] == decode_bytes(
        shapes["batch"], shapes["context"], shapes["num_heads"], shapes["num_kv_heads"],
        shapes["head_dim"], shapes["block_size"], 2)
    assert result["decode_gbps"] == pytest.approx(result["decode_bytes"] / result["decode_us"] / 1e3,
                                                  rel=1e-3)
    assert result["fraction"] == pytest.approx(result["decode_gbps"] / result["copy_gbps"], abs=1e-3)
    assert result["command"].startswith("python -m benchmarks.kernels")


@pytest.mark.parametrize("path", _GEMM, ids=lambda p: p.name)
def test_gemm_results_are_consistent_and_rendered(path: Path) -> None:
    result = json.loads(path.read_text())
    assert (RESULT_TABLES / f"{path.stem}.md").read_text() == format_gemm_table(result)
    for r in result["rows"]:
        assert r["speedup"] == pytest.approx(r["f_linear_ms"] / r["onednn_ms"], abs=0.01)
    assert result["command"].startswith("python -m benchmarks.gemm")


@pytest.mark.parametrize("path", _STEPS, ids=lambda p: p.name)
def test_step_times_are_consistent_and_rendered(path: Path) -> None:
    """Each batch size measured eager and with graphs; a graph replaces the step's kernel
    launches with one, and the GPU's own time does not change (the same kernels run)."""
    result = json.loads(path.read_text())
    assert (RESULT_TABLES / f"{path.stem}.md").read_text() == format_step_time_table(result)
    assert (_PLOTS / f"{path.stem}.svg").read_text() == render_step_time_svg(result, path.stem)
    assert result["command"].startswith("python -m benchmarks.step_time")
    assert len(result["commit"]) == 40
    by = {(r["num_seqs"], r["cuda_graphs"], r.get("async_scheduling", False)): r
          for r in result["rows"]}
    for (n, graphs, overlapped), r in by.items():
        if not overlapped:   # the GPU waits for the host between steps: wall >= GPU
            assert r["wall_ms"] >= r["gpu_ms"] > 0
        if graphs and (n, False, overlapped) in by:
            eager = by[(n, False, overlapped)]
            assert r["launches_per_step"] < eager["launches_per_step"] / 10
            assert r["gpu_ms"] == pytest.approx(eager["gpu_ms"], rel=0.1)
        if overlapped:
            # the same kernels and launches as the synchronous step, in less wall time, which
            # reaches the GPU time: that is measured in a separate, profiled stretch, and the
            # profiler lengthens kernels by a few percent, so the wall may come out below it
            sync = by[(n, graphs, False)]
            assert r["launches_per_step"] == sync["launches_per_step"]
            assert r["gpu_ms"] == pytest.approx(sync["gpu_ms"], rel=0.1)
            assert 0.95 * r["gpu_ms"] <= r["wall_ms"] < sync["wall_ms"]


@pytest.mark.parametrize("path", _TRANSPORT, ids=lambda p: p.name)
def test_transport_results_are_consistent_and_rendered(path: Path) -> None:
    """Every transport timed at 2 and 3 ranks on every message; each message's size is that of
    the message the module builds today; a delivery costs more than the pickling it includes."""
    result = json.loads(path.read_text())
    assert (RESULT_TABLES / f"{path.stem}.md").read_text() == format_transport_table(result)
    assert result["command"].startswith("python -m benchmarks.transport")
    assert len(result["commit"]) == 40
    built = {name: describe(name, step) for name, step in steps().items()}
    assert {s["name"]: {k: s[k] for k in ("name", "label", "bytes")}
            for s in result["steps"]} == built
    pickle_us = {s["name"]: s["pickle_us"] for s in result["steps"]}
    assert all(us > 0 for us in pickle_us.values())
    keys = [(r["world_size"], r["step"], r["transport"]) for r in result["rows"]]
    assert sorted(keys) == sorted((w, s, t) for w in (2, 3) for s in built for t in TRANSPORTS)
    for r in result["rows"]:
        assert len(r["repeat_medians_us"]) == result["repeats"]
        assert r["median_us"] == min(r["repeat_medians_us"]) > pickle_us[r["step"]]


def test_transport_prose_quotes_its_results_file() -> None:
    """The numbers and claims of the transport section, on both language versions of the page:
    the pipe and shared memory within 1% of each other in every row, ``broadcast_object_list``
    slower than the pipe by the range quoted, three ranks slower than two every time."""
    result = json.loads((RESULTS / "m7-cpu-transport.json").read_text())
    us = {(r["world_size"], r["step"], r["transport"]): r["median_us"] for r in result["rows"]}
    about = {s["name"]: s for s in result["steps"]}
    ratios = []
    for (ranks, step, transport), time in us.items():
        if ranks == 3:
            assert time > us[(2, step, transport)]
        if transport == "pipe":
            shm = us[(ranks, step, "shared memory")]
            assert abs(time - shm) / min(time, shm) < 0.01
            ratios.append(us[(ranks, step, "broadcast_object_list")] / time)
    quoted = [f"{about['decode']['bytes']:,}", f"{about['admission']['bytes']:,}",
              f"{about['decode']['pickle_us']:.0f} 和 {about['admission']['pickle_us']:.0f} µs",
              f"{min(ratios):.1f}", f"{max(ratios):.1f}",
              f"{us[(2, 'decode', 'broadcast_object_list')]:.0f} µs",
              f"{us[(2, 'decode', 'pipe')]:.0f} µs"]
    for page, word in (("index.md", "and"), ("index.zh.md", "和")):
        text = (DOCS / "benchmarks" / page).read_text()
        section = text[text.index("{ #m7-cpu-transport }"):text.index("{ #m5-cpu }")]
        missing = [q for q in (q.replace(" 和 ", f" {word} ") for q in quoted)
                   if q not in section]
        assert not missing, (page, missing)


def test_summary_is_rendered_from_the_results() -> None:
    """The table that opens the benchmarks page is exactly what the results files render to."""
    assert (RESULT_TABLES / "summary.md").read_text() == render_summary(RESULTS)


def test_decode_bound_is_bytes_over_bandwidth() -> None:
    kernel = json.loads((RESULTS / "m3-gpu-decode-kernel.json").read_text())
    e2e = json.loads((RESULTS / "m3-gpu-nanovllm.json").read_text())
    bound = decode_bound(kernel, e2e)
    shapes = kernel["shapes"]  # 2 (K, V) x 28 layers x 8 KV heads x 128 dims x 2 bytes per token
    assert bound.kv_bytes == shapes["batch"] * shapes["context"] * 2 * 28 * 8 * 128 * 2
    assert bound.weight_bytes == 596_049_920 * 2      # Qwen3-0.6B in bf16, tied embedding once
    assert bound.bound_ms == pytest.approx((bound.weight_bytes + bound.kv_bytes)
                                           / kernel["copy_gbps"] / 1e6)
    assert 0 < bound.fraction < 1                    # a whole step is slower than its bytes


# Figures measured by others, quoted as such (never as our measurement): number -> source.
REFERENCE_FIGURES = {
    "20,800": "nano-vllm on the nano-vllm workload on an H200, as reported; not run here",
    "25,000": "M6's aim on the nano-vllm workload: two thirds of its bandwidth bound",
}


def _measured_strings() -> set[str]:
    """Every way a results number may appear on a page (as the tables format them)."""
    out: set[str] = set()
    for path in _JSON:
        result = json.loads(path.read_text())
        base = next((r["output_tokens_per_s"] for r in result["results"]
                     if r["engine"] == "transformers"), None)
        for r in result["results"]:
            out |= {f"{r['output_tokens_per_s']:.1f}", f"{r['output_tokens_per_s']:,.1f}",
                    f"{r['seconds']:.2f}"}
            if base is not None:
                out.add(f"{r['output_tokens_per_s'] / base:.2f}x")
            for key in ("ttft_p50", "tpot_p50", "ttft_p99", "tpot_p99", "itl_p50", "itl_p99"):
                if r.get(key) is not None:
                    out.add(f"{r[key] * 1000:.1f}")
    for path in _KERNELS:
        r = json.loads(path.read_text())
        out |= {f"{r['copy_gbps']:.0f}", f"{r['decode_us']:.1f}", f"{r['decode_gbps']:.0f}"}
    for path in _GEMM:
        for r in json.loads(path.read_text())["rows"]:
            out |= {f"{r['f_linear_ms']:.1f}", f"{r['onednn_ms']:.1f}", f"{r['speedup']:.2f}x"}
    for path in _MEMORY:
        for case in json.loads(path.read_text())["cases"]:
            m2, m3 = case["rows"]
            out.add(f"{m3['busy_running'] / m2['busy_running']:.2f}x")
    for path in _STEPS:
        for r in json.loads(path.read_text())["rows"]:
            out |= {f"{r['wall_ms']:.2f}", f"{r['gpu_ms']:.2f}",
                    f"{r['wall_ms'] - r['gpu_ms']:.2f}"}
    graphs = json.loads((RESULTS / "m6-gpu-nanovllm.json").read_text())
    copy = json.loads((RESULTS / "m3-gpu-decode-kernel.json").read_text())["copy_gbps"]
    out.add(f"{workload_bound(graphs, copy):,.0f}")
    out |= set(REFERENCE_FIGURES)
    for path in _LADDERS:
        for r in json.loads(path.read_text())["rungs"]:
            if not r["skipped"]:
                out |= {f"{r[k]:{sep}.1f}" for k in ("folovllm", "transformers")
                        for sep in ("", ",")}
                out.add(f"{r['folovllm'] / r['transformers']:.2f}x")
    return out


_QUOTED = re.compile(r"(\d[\d,]*\.?\d*)\s*(x|×|tok/s|tokens/s|ms)\b")


def quoted_numbers(text: str) -> list[str]:
    """Measured-looking numbers in a page's prose: code blocks and include lines left out."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"^--8<--.*$", "", text, flags=re.M)
    return [m.group(1) + ("x" if m.group(2) in ("x", "×") else "") for m in _QUOTED.finditer(text)]


@pytest.mark.parametrize("page", sorted((DOCS / "benchmarks").glob("index*.md")),
                         ids=lambda p: p.name)
def test_numbers_quoted_on_the_benchmark_page_come_from_results(page: Path) -> None:
    measured = _measured_strings()
    unbacked = [n for n in quoted_numbers(page.read_text()) if n not in measured]
    assert not unbacked, f"{page.name} quotes numbers no results file holds: {unbacked}"


def test_the_quoted_number_check_can_fail() -> None:
    assert quoted_numbers("we reach 3.14x and 99.9 tok/s, see `1.0x`\n--8<-- \"a 2.0x\"") == \
        ["3.14x", "99.9", "1.0x"]  # inline code counts; fenced code and include lines do not


def _result(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _assert_section_quotes(start: str, end: str, quoted: list[str]) -> None:
    """Every string of ``quoted`` stands in the section between the two anchors, on both
    language versions of the benchmarks page."""
    for page in ("index.md", "index.zh.md"):
        text = (DOCS / "benchmarks" / page).read_text()
        section = text[text.index(start):text.index(end)]
        missing = [q for q in quoted if q not in section]
        assert not missing, (page, missing)


def test_cuda_graph_prose_quotes_its_results_files() -> None:
    """Every number the M6 section's prose quotes, computed from the results files, on both
    language versions of the page."""
    runs = {r["engine"]: r for r in _result("m6-gpu-nanovllm")["results"]}
    on, off = runs["folovllm"], runs["folovllm-eager"]
    hf = next(r for r in _result("m3-gpu-nanovllm")["results"] if r["engine"] == "transformers")
    bound = workload_bound(_result("m6-gpu-nanovllm"), _result("m3-gpu-decode-kernel")["copy_gbps"])
    steps = {(r["num_seqs"], r["cuda_graphs"]): r for r in _result("m6-gpu-step-time")["rows"]}
    big = steps[(256, True)]
    ours = on["output_tokens_per_s"]
    quoted = [
        f"{ours / off['output_tokens_per_s']:.2f}", f"{ours:,.1f}",
        f"{off['output_tokens_per_s']:,.1f}", f"{bound:,.0f}", f"{ours / bound:.0%}",
        f"{ours / 20_800:.0%}", f"{hf['output_tokens_per_s']:.1f}",
        f"{ours / hf['output_tokens_per_s']:.1f}", f"{big['wall_ms'] - big['gpu_ms']:.2f} ms",
        f"{big['wall_ms']:.2f} ms",
        f"{on['first_pass_seconds'] / on['seconds'] - 1:.1%}",
        f"{off['first_pass_seconds'] / off['seconds'] - 1:.1%}",
    ]
    _assert_section_quotes("{ #m6-gpu }", "{ #m5-gpu }", quoted)


def _nanovllm_run(name: str) -> tuple[dict[str, dict], float]:
    """A later M6 run on the nano-vllm workload: its engines by name (each generated the same
    tokens) and the workload's bandwidth bound, which is M6's first run's (the same requests)."""
    result = _result(name)
    runs = {r["engine"]: r for r in result["results"]}
    assert len({r["output_tokens"] for r in runs.values()}) == 1
    copy = _result("m3-gpu-decode-kernel")["copy_gbps"]
    bound = workload_bound(result, copy)
    assert bound == workload_bound(_result("m6-gpu-nanovllm"), copy)
    return runs, bound


def test_async_scheduling_prose_quotes_its_results_files() -> None:
    """Every number the async section quotes, computed from its two results files, on both
    language versions of the page; the claims it makes hold in them."""
    runs, bound = _nanovllm_run("m6-gpu-nanovllm-async")
    on, sync, eager = runs["folovllm"], runs["folovllm-sync"], runs["folovllm-eager"]
    ours = on["output_tokens_per_s"]
    assert ours > 20_800 and ours < 25_000              # past nano-vllm's figure, short of the aim
    steps = {(r["num_seqs"], r["async_scheduling"]): r for r in _result("m6-gpu-step-time-async")["rows"]}
    for n in (1, 16, 64, 256):   # the same kernels and launches; the wall time shrinks
        sync_step, async_step = steps[n, False], steps[n, True]
        assert sync_step["launches_per_step"] == async_step["launches_per_step"]
        assert abs(sync_step["gpu_ms"] - async_step["gpu_ms"]) < 0.02 * sync_step["gpu_ms"]
        assert async_step["wall_ms"] < sync_step["wall_ms"]
    big_sync, big_async = steps[256, False], steps[256, True]
    one_sync, one_async = steps[1, False], steps[1, True]
    quoted = [
        f"{ours:,.1f}", f"{ours / sync['output_tokens_per_s']:.2f}",
        f"{sync['output_tokens_per_s']:,.1f}", f"{ours / eager['output_tokens_per_s']:.2f}",
        f"{eager['output_tokens_per_s']:,.1f}", f"{ours / 20_800:.0%}", f"{ours / bound:.0%}",
        f"{bound:,.0f}", f"{on['first_pass_seconds'] / on['seconds'] - 1:.1%}",
        f"{big_sync['wall_ms']:.2f} ms", f"{big_sync['gpu_ms']:.2f} ms",
        f"{big_async['wall_ms']:.2f} ms", f"{big_sync['wall_ms'] - big_sync['gpu_ms']:.2f} ms",
        f"{one_sync['wall_ms']:.2f}", f"{one_async['wall_ms']:.2f} ms",
        f"{one_async['gpu_ms']:.2f} ms",
    ]
    assert sync["first_pass_seconds"] == sync["seconds"]
    assert eager["first_pass_seconds"] == eager["seconds"]
    _assert_section_quotes("{ #m6-async }", "{ #m5-gpu }", quoted)


def test_baseline_run_prose_quotes_its_results_file() -> None:
    """The section with graphs, eager steps and ``transformers`` in one process: its numbers,
    computed from its results file (and the async run it is set beside), on both pages."""
    runs, bound = _nanovllm_run("m6-gpu-nanovllm-transformers")
    on, eager, hf = runs["folovllm"], runs["folovllm-eager"], runs["transformers"]
    ours = on["output_tokens_per_s"]
    assert ours > 20_800                                  # past nano-vllm's figure in this run too
    earlier = next(r for r in _result("m6-gpu-nanovllm-async")["results"]
                   if r["engine"] == "folovllm")["output_tokens_per_s"]
    firsts = {name: r["first_pass_seconds"] / r["seconds"] - 1 for name, r in runs.items()}
    assert firsts["folovllm"] == 0
    quoted = [
        f"{ours:,.1f}", f"{ours / hf['output_tokens_per_s']:.2f}x",
        f"{hf['output_tokens_per_s']:.1f}", f"{ours / eager['output_tokens_per_s']:.2f}",
        f"{eager['output_tokens_per_s']:,.1f}", f"{ours / 20_800:.0%}", f"{ours / bound:.0%}",
        f"{bound:,.0f}", f"{earlier:,.1f}", f"{1 - ours / earlier:.1%}",
        f"{firsts['folovllm-eager']:.1%}", f"{firsts['transformers']:.1%}",
    ]
    _assert_section_quotes("{ #m6-transformers }", "{ #m5-gpu }", quoted)


def test_tensor_parallel_prose_quotes_its_results_files() -> None:
    """The M7 section's numbers and claims, from its four results files, on both language
    versions of the page: one run per tensor-parallel size, and on two shared cores more ranks
    are slower, for the tiny model and for the default model alike."""
    def run(name: str, tp: int) -> dict:
        result = json.loads((RESULTS / f"{name}.json").read_text())
        assert result["tensor_parallel_size"] == tp
        assert f"--tensor-parallel-size {tp} " in result["command"]
        (r,) = result["results"]
        return r

    tiny1, tiny2 = run("m7-cpu-tiny-tp1", 1), run("m7-cpu-tiny-tp2", 2)
    tp1, tp3 = run("m7-cpu-tp1", 1), run("m7-cpu-tp3", 3)
    assert tiny2["output_tokens_per_s"] < tiny1["output_tokens_per_s"]
    assert tp3["output_tokens_per_s"] < tp1["output_tokens_per_s"]
    quoted = [f"{r['output_tokens_per_s']:.1f} tok/s" for r in (tiny1, tiny2, tp1, tp3)]
    quoted += [f"{r[k] * 1000:.1f} ms" for r in (tiny1, tiny2) for k in ("tpot_p50", "ttft_p50")]
    quoted += [f"{r['tpot_p50'] * 1000:.1f} ms" for r in (tp1, tp3)]
    quoted += [f"{tiny1['output_tokens_per_s'] / tiny2['output_tokens_per_s']:.1f}",
               f"{tp1['output_tokens_per_s'] / tp3['output_tokens_per_s']:.1f}"]
    _assert_section_quotes("{ #m7-cpu }", "{ #m5-cpu }", quoted)


def test_gpu_ladder_prose_quotes_its_results_files() -> None:
    """The GPU ladder's rung-by-rung reading, computed from the ladder and from the second run
    of its M4 and M5 rungs, on both language versions of the page; the summary's bullet
    quotes M6's ratio."""
    ladder, again = _result("ladder-gpu"), _result("ladder-gpu-m4-m5")
    assert again["workload"] == ladder["workload"]              # the same workload, run again
    rung = {r["tag"]: r for r in ladder["rungs"] if not r["skipped"]}
    rerun = {r["tag"]: r for r in again["rungs"]}
    assert {t: r["commit"] for t, r in rerun.items()} == {t: rung[t]["commit"] for t in rerun}
    tok = {t: r["folovllm"] for t, r in rung.items()}
    hf = {t: r["transformers"] for t, r in rung.items()}
    assert tok["m2"] < tok["m3"] and tok["m6"] > 4 * max(tok[t] for t in ("m2", "m3", "m4", "m5"))
    m4_move = abs(tok["m4"] - rerun["m4"]["folovllm"]) / tok["m4"]
    m5_below = [1 - tok["m5"] / tok["m4"], 1 - rerun["m5"]["folovllm"] / rerun["m4"]["folovllm"]]
    assert min(m5_below) > 0                                     # M5 below M4 in both runs
    m7_gap = 1 - tok["m7"] / tok["m6"]
    assert 0 < m7_gap < m4_move                                  # within what M4 moved
    quoted = [f"{tok['m2']:,.1f}", f"{tok['m3']:,.1f}", f"{tok['m6']:,.1f}", f"{tok['m7']:,.1f}",
              *(f"{hf[t]:,.1f}" for t in ("m4", "m5", "m6")),
              *(f"{rerun[t]['transformers']:,.1f}" for t in ("m4", "m5")),
              f"{tok['m6'] / tok['m5']:.2f}", f"{tok['m6'] / hf['m6']:.2f}x",
              f"{m4_move:.1%}", *(f"{x:.1%}" for x in m5_below), f"{m7_gap:.0%}"]
    _assert_section_quotes("{ #ladder }", "{ #method }", quoted)
    _assert_section_quotes("{ #summary }", "{ #gpu }", [f"{tok['m6'] / hf['m6']:.2f}x"])
