"""The numbers the M6 learning notes quote, checked on the programs the page shows and on the
results files they read (docs/benchmarks/results/m6-gpu-*.json)."""

from __future__ import annotations

import json

import pytest

from folovllm.config import default_cuda_graph_sizes
from tests.docs.docs_tools import DOCS, REPO, RESULTS, run_program

_PAGES = [DOCS / "milestones/m6" / name for name in ("learn.md", "learn.zh.md")]


def _steps() -> dict[tuple[int, bool], dict]:
    rows = json.loads((RESULTS / "m6-gpu-step-time.json").read_text())["rows"]
    return {(r["num_seqs"], r["cuda_graphs"]): r for r in rows}


def _workload() -> dict[str, dict]:
    results = json.loads((RESULTS / "m6-gpu-nanovllm.json").read_text())["results"]
    return {r["engine"]: r for r in results}


def _quoted_step_numbers() -> list[str]:
    """Every step-time figure the pages quote, formatted from the results file."""
    by = _steps()
    one_eager, one_graphs = by[1, False], by[1, True]
    big_eager, big_graphs = by[256, False], by[256, True]
    walls = [r["wall_ms"] for (_, graphs), r in by.items() if not graphs]
    return [f"{one_eager['wall_ms']:.2f}", f"{one_eager['gpu_ms']:.2f}",
            f"{one_eager['launches_per_step']:.0f}", f"{big_eager['launches_per_step']:.0f}",
            f"{one_graphs['wall_ms']:.2f}",
            f"{one_graphs['gpu_ms']:.2f}", f"{one_graphs['launches_per_step']:.0f}",
            f"{big_eager['wall_ms']:.2f}", f"{big_graphs['wall_ms']:.2f}",
            f"{big_graphs['gpu_ms']:.2f}", f"{min(walls):.2f}", f"{max(walls):.2f}",
            *(f"{by[n, False]['wall_ms'] / by[n, True]['wall_ms']:.2f}x"
              for n in (1, 16, 64, 256)),
            f"{big_graphs['wall_ms'] - big_graphs['gpu_ms']:.1f} ms",
            f"{one_eager['wall_ms'] / one_eager['launches_per_step'] * 1000:.0f} µs"]


def test_the_step_table_is_the_results_file() -> None:
    by, out = _steps(), run_program("docs/snippets/m6/learn_launches.py").stdout
    assert sorted({n for n, _ in by}) == [1, 16, 64, 256]
    for (n, graphs), r in by.items():
        # the same kernels run: graphs change the wall time, not the GPU time (within 2%)
        assert abs(r["gpu_ms"] - by[n, not graphs]["gpu_ms"]) < 0.02 * r["gpu_ms"]
        mode = "graphs" if graphs else "eager "
        assert f"{n:4d}  {mode}  {r['wall_ms']:7.2f}  {r['gpu_ms']:6.2f}" in out
    # host-bound: at one sequence the eager step is mostly the host's launches
    assert by[1, False]["gpu_ms"] / by[1, False]["wall_ms"] < 0.1
    assert by[1, True]["launches_per_step"] < by[1, False]["launches_per_step"] / 10
    assert "eager, 1 sequence: 41 us of wall time per launch" in out
    assert "3.1 ms of each 9.94 ms step is host work" in out


def test_buckets_and_padding() -> None:
    ns = run_program("docs/snippets/m6/learn_buckets.py").namespace
    sizes = default_cuda_graph_sizes(256)
    assert len(sizes) == 35 == len(ns["sizes"])
    assert sizes[:4] == [1, 2, 4, 8] and sizes[-1] == 256
    assert all(b - a == 8 for a, b in zip(sizes[3:], sizes[4:]))
    assert max(ns["waste"]) == 7 and round(sum(ns["waste"]) / 256, 1) == 3.4
    assert default_cuda_graph_sizes(300)[-4:] == [256, 272, 288, 300]
    assert ns["few"].padded_size(9) is None


def test_the_workload_numbers_are_the_results_file() -> None:
    by = _workload()
    graphs, eager = by["folovllm"], by["folovllm-eager"]
    assert graphs["output_tokens"] == eager["output_tokens"]   # the same work, timed
    ratio = graphs["output_tokens_per_s"] / eager["output_tokens_per_s"]
    out = run_program("docs/snippets/m6/learn_workload.py").stdout
    assert f"CUDA graphs: {ratio:.2f}x" in out and f"{ratio:.2f}" == "2.71"


def _quoted_workload_numbers() -> list[str]:
    by = _workload()
    graphs, eager = by["folovllm"], by["folovllm-eager"]
    return [f"{graphs['output_tokens_per_s']:,.1f}", f"{eager['output_tokens_per_s']:,.1f}",
            f"{graphs['seconds']:.2f} s", f"{eager['seconds']:.2f} s",
            f"{graphs['output_tokens_per_s'] / eager['output_tokens_per_s']:.2f}x"]


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: p.name)
def test_every_quoted_number_comes_from_the_results(page) -> None:
    text = page.read_text(encoding="utf-8")
    config = json.loads((REPO / "folovllm/benchmarks/configs/qwen3-0.6b/config.json").read_text())
    quoted = [*_quoted_step_numbers(), *_quoted_workload_numbers(),
              f"{config['num_hidden_layers']} ", "35", "64%", "75%"]
    missing = [n for n in quoted if n not in text]
    assert not missing, f"{page.name} lacks {missing}"
    by = _steps()
    busy = [round(r["gpu_ms"] / r["wall_ms"] * 100) for (_, graphs), r in by.items() if graphs]
    assert (min(busy), max(busy)) == (64, 75)


@pytest.mark.parametrize("page", ["milestones/index.md", "milestones/index.zh.md",
                                  "milestones/m6/walkthrough.md", "milestones/m6/walkthrough.zh.md"])
def test_the_other_pages_quote_the_same_numbers(page: str) -> None:
    """The milestones overview quotes the workload's speed-up; the walkthrough the model's
    layer count (two block-zeroing launches per layer, gone on the Triton backend)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    if page.startswith("milestones/index"):
        by = _workload()
        ratio = by["folovllm"]["output_tokens_per_s"] / by["folovllm-eager"]["output_tokens_per_s"]
        assert f"{ratio:.2f}" in text
    else:
        config = json.loads((REPO / "folovllm/benchmarks/configs/qwen3-0.6b/config.json").read_text())
        assert f"{config['num_hidden_layers']} " in text


def test_async_scheduling_returns_outputs_one_call_late_with_the_same_tokens() -> None:
    """Section 8: the first call returns nothing, each later one the step before; the tokens
    equal those of synchronous steps through preemptions (both engines preempt)."""
    run = run_program("docs/snippets/m6/learn_async.py")
    out, outs = run.stdout, run.namespace["outs"]
    assert "async=False  tokens after each call: [[1], [2], [3]]" in out
    assert "async=True   tokens after each call: [[], [1], [2], [3]]" in out
    assert outs[False] == outs[True] and "same tokens: True" in out
    counts = [int(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "preemptions" in line]
    assert len(counts) == 2 and min(counts) > 0


def _assert_in_section_8(quoted: list[str]) -> None:
    """Every string of ``quoted`` stands in section 8 or after it, on both pages."""
    for page in _PAGES:
        text = page.read_text(encoding="utf-8")
        section = text[text.index("{ #8-async-scheduling }"):]
        missing = [q for q in quoted if q not in section]
        assert not missing, (page.name, missing)


def test_what_async_scheduling_bought_is_the_results_files() -> None:
    """Section 8's numbers, from the async run's two results files, on both pages."""
    from benchmarks.summary import workload_bound

    bench = json.loads((RESULTS / "m6-gpu-nanovllm-async.json").read_text())
    by = {r["engine"]: r["output_tokens_per_s"] for r in bench["results"]}
    copy = json.loads((RESULTS / "m3-gpu-decode-kernel.json").read_text())["copy_gbps"]
    rows = json.loads((RESULTS / "m6-gpu-step-time-async.json").read_text())["rows"]
    step = {(r["num_seqs"], r["async_scheduling"]): r for r in rows}
    sync_step, async_step = step[256, False], step[256, True]
    assert async_step["wall_ms"] < sync_step["wall_ms"]
    assert sync_step["launches_per_step"] == async_step["launches_per_step"]
    assert by["folovllm"] > 20_800 > by["folovllm-sync"]
    quoted = [f"{sync_step['wall_ms']:.2f} ms", f"{async_step['wall_ms']:.2f} ms",
              f"{sync_step['gpu_ms']:.2f} ms", f"{by['folovllm-sync']:,.1f}",
              f"{by['folovllm']:,.1f}", f"{by['folovllm'] / by['folovllm-sync']:.2f}",
              f"{by['folovllm'] / workload_bound(bench, copy):.0%}"]
    _assert_in_section_8(quoted)


def test_the_baseline_run_is_the_results_file() -> None:
    """Section 8 and the numbers table quote the run with `transformers` in the same process."""
    bench = json.loads((RESULTS / "m6-gpu-nanovllm-transformers.json").read_text())
    by = {r["engine"]: r for r in bench["results"]}
    ours, eager, hf = by["folovllm"], by["folovllm-eager"], by["transformers"]
    assert ours["output_tokens"] == eager["output_tokens"] == hf["output_tokens"]  # same work
    speed = {name: r["output_tokens_per_s"] for name, r in by.items()}
    quoted = [f"{speed['folovllm']:,.1f}", f"{speed['transformers']:.1f}",
              f"{speed['folovllm'] / speed['transformers']:.2f}x",
              f"{speed['folovllm'] / speed['folovllm-eager']:.2f}"]
    _assert_in_section_8(quoted)
