"""Charts of benchmark results, drawn with matplotlib into ``docs/benchmarks/plots/``.

Each throughput results file (``docs/benchmarks/results/*.json``) becomes a bar chart of output
tokens per second per engine, and each ladder file a chart of both engines at every milestone tag.
A throughput file that kept its engines' step timelines also gets ``<name>-timeline.svg``: the
tokens of every step, decode and prefill, over the run.
The SVG is written deterministically (a fixed hash salt for element ids, no date and no creator
string), so ``tests/docs/test_benchmarks.py`` can re-draw every committed chart from its JSON and
fail if a chart and its numbers ever disagree. Byte-identical output
needs the same matplotlib version, which is why pyproject.toml pins it.

Run ``python -m benchmarks.plot`` from the repository root to (re)draw every chart.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the charts only go to files

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from matplotlib.figure import Figure  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "benchmarks" / "results"
PLOTS = REPO / "docs" / "benchmarks" / "plots"
COLORS = {"folovllm": "#3f51b5", "folovllm-m1": "#9fa8da", "folovllm-no-prefix-cache": "#9fa8da",
          "folovllm-no-chunked-prefill": "#9fa8da", "transformers": "#ff9800"}
PREFILL, DECODE = "#ff9800", "#3f51b5"
_STYLE = {
    "svg.hashsalt": "folovllm",   # clip-path and glyph ids from a fixed salt, not a random one
    "svg.fonttype": "path",       # glyphs as outlines: the labels fit the same on every browser
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.facecolor": "white",  # readable on the site's dark theme too
}


def _to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    # Date and Creator would change with every run and every matplotlib release
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return buf.getvalue()


def render_svg(result: dict, title: str) -> str:
    """One horizontal bar per engine, each labelled with its tokens/s and its ratio to
    ``transformers``."""
    rows = result["results"]
    base = next((r["output_tokens_per_s"] for r in rows if r["engine"] == "transformers"), None)
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7, 0.55 * len(rows) + 1.3))
        names = [r["engine"] for r in rows][::-1]          # first engine on top
        speeds = [r["output_tokens_per_s"] for r in rows][::-1]
        bars = ax.barh(names, speeds, color=[COLORS.get(n, "#607d8b") for n in names], height=0.6)
        labels = [f"{s:.1f} tok/s" + (f"  ({s / base:.2f}x)" if base else "") for s in speeds]
        ax.bar_label(bars, labels=labels, padding=4)
        ax.set_xlim(0, max(speeds) * 1.35)                 # room for the labels
        ax.set_xlabel("output tokens per second (higher is better)")
        ax.set_title(f"{title}: {result['workload'].get('name', 'random')} workload, "
                     f"{result['device']}, {result['date']}", loc="left")
        return _to_svg(fig)


def render_ladder_svg(ladder: dict, title: str) -> str:
    """Both engines side by side at every measured milestone tag, with FoloVLLM's ratio to
    ``transformers`` under each tag."""
    rungs = [r for r in ladder["rungs"] if not r["skipped"]]
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        x = range(len(rungs))
        width = 0.38
        for offset, engine in ((-width / 2, "folovllm"), (width / 2, "transformers")):
            bars = ax.bar([i + offset for i in x], [r[engine] for r in rungs], width,
                          label=engine, color=COLORS[engine])
            ax.bar_label(bars, fmt="%.1f", padding=2, fontsize=9)
        ax.set_xticks(list(x), [f"{r['tag']}\n{r['folovllm'] / r['transformers']:.2f}x"
                                for r in rungs])
        ax.set_ylim(0, max(max(r["folovllm"], r["transformers"]) for r in rungs) * 1.15)
        ax.set_ylabel("output tokens per second")
        ax.set_xlabel("milestone tag (FoloVLLM / transformers)")
        ax.legend(loc="upper left", frameon=False)
        ax.set_title(f"{title}: {ladder['device']}, {ladder['date']}", loc="left")
        return _to_svg(fig)


def render_timeline_svg(result: dict, title: str) -> str:
    """One panel per engine with a timeline: the tokens of each step over time, decode tokens
    below and prefill tokens above, on a log scale (a step holds about a hundred decodes and up
    to thousands of prompt tokens). A tall orange step with no blue under it is a prefill that
    every decoding request waits for."""
    rows = [r for r in result["results"] if r.get("timeline")]
    end = max(r["timeline"][-1][0] for r in rows)
    top = max(p + d for r in rows for _, p, d in r["timeline"])
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(len(rows), 1, figsize=(7, 1.9 * len(rows) + 0.8), sharex=True,
                                 squeeze=False)
        for ax, r in zip(axes[:, 0], rows):
            t = [0.0] + [s[0] for s in r["timeline"]]          # step i runs from t[i] to t[i+1]
            decode = [max(s[2], 1) for s in r["timeline"]] + [1]
            total = [max(s[1] + s[2], 1) for s in r["timeline"]] + [1]
            ax.fill_between(t, 1, decode, step="post", color=DECODE, lw=0, label="decode")
            ax.fill_between(t, decode, total, step="post", color=PREFILL, lw=0, label="prefill")
            ax.set_yscale("log")
            ax.set_ylim(1, top * 2)
            ax.set_xlim(0, end)
            ax.set_ylabel("tokens / step")
            ax.set_title(f"{r['engine']}: budget {r.get('max_num_batched_tokens')} tokens, "
                         f"ITL p99 {r['itl_p99'] * 1000:.0f} ms", loc="left", fontsize=9)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", frameon=False, ncols=2)
        axes[-1, 0].set_xlabel("seconds since the first request")
        fig.suptitle(f"{title}: {result['device']}, {result['date']}", x=0.02, ha="left")
        return _to_svg(fig)


def render_step_time_svg(result: dict, title: str) -> str:
    """Per batch size, a decode step's wall time for each engine measured (eager, CUDA graphs,
    graphs with async scheduling), each bar split into the GPU's busy time (dark) and the time
    it waited for the host (light)."""
    rows = result["rows"]
    sizes = sorted({r["num_seqs"] for r in rows})
    modes = [m for m in ((False, False), (True, False), (True, True))
             if any((r["cuda_graphs"], r.get("async_scheduling", False)) == m for r in rows)]
    colors = {(False, False): "#9fa8da", (True, False): DECODE, (True, True): "#2e7d32"}
    names = {(False, False): "eager", (True, False): "CUDA graphs",
             (True, True): "graphs + async scheduling"}
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        width = 0.8 / len(modes)
        for k, mode in enumerate(modes):
            by = {r["num_seqs"]: r for r in rows
                  if (r["cuda_graphs"], r.get("async_scheduling", False)) == mode}
            x = [i + (k - (len(modes) - 1) / 2) * width for i in range(len(sizes))]
            gpu = [by[n]["gpu_ms"] for n in sizes]
            wait = [max(by[n]["wall_ms"] - by[n]["gpu_ms"], 0) for n in sizes]
            ax.bar(x, gpu, width, color=colors[mode], label=f"{names[mode]}: GPU busy")
            bars = ax.bar(x, wait, width, bottom=gpu, color=colors[mode], alpha=0.35,
                          label=f"{names[mode]}: GPU waits for the host")
            ax.bar_label(bars, labels=[f"{by[n]['wall_ms']:.1f}" for n in sizes], padding=2,
                         fontsize=8)
        ax.set_xticks(range(len(sizes)), [str(n) for n in sizes])
        ax.set_xlabel("sequences decoding")
        ax.set_ylabel("ms per decode step (lower is better)")
        ax.legend(loc="upper left", frameon=False, fontsize=7)
        ax.set_ylim(0, max(r["wall_ms"] for r in rows) * 1.45)
        ax.set_title(f"{title}: {result['device']}", loc="left")
        return _to_svg(fig)


def draw_all(results_dir: Path = RESULTS, plots_dir: Path = PLOTS) -> list[Path]:
    """Draw ``plots_dir/<name>.svg`` for every throughput, ladder or decode-step-time results
    file (kernel, GEMM and memory results are tables only)."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(results_dir.glob("*.json")):
        data = json.loads(path.read_text())
        if data.get("benchmark") == "decode-step-time":
            out = plots_dir / f"{path.stem}.svg"
            out.write_text(render_step_time_svg(data, path.stem))
            written.append(out)
            continue
        if "rungs" not in data and "results" not in data:
            continue
        draw = render_ladder_svg if "rungs" in data else render_svg
        out = plots_dir / f"{path.stem}.svg"
        out.write_text(draw(data, path.stem))
        written.append(out)
        if any(r.get("timeline") for r in data.get("results", [])):
            out = plots_dir / f"{path.stem}-timeline.svg"
            out.write_text(render_timeline_svg(data, path.stem))
            written.append(out)
    return written


if __name__ == "__main__":
    for p in draw_all():
        print(p.relative_to(REPO))
    sys.exit(0)
