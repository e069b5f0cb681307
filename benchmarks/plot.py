"""Charts of benchmark results, drawn with matplotlib into ``docs/benchmarks/plots/``.

Each throughput results file (``docs/benchmarks/results/*.json``) becomes a bar chart of output
tokens per second per engine, and each ladder file a chart of both engines at every milestone tag.
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
          "transformers": "#ff9800"}
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


def draw_all(results_dir: Path = RESULTS, plots_dir: Path = PLOTS) -> list[Path]:
    """Draw ``plots_dir/<name>.svg`` for every throughput or ladder results file (kernel, GEMM
    and memory results are tables only)."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(results_dir.glob("*.json")):
        data = json.loads(path.read_text())
        if "rungs" not in data and "results" not in data:
            continue
        draw = render_ladder_svg if "rungs" in data else render_svg
        out = plots_dir / f"{path.stem}.svg"
        out.write_text(draw(data, path.stem))
        written.append(out)
    return written


if __name__ == "__main__":
    for p in draw_all():
        print(p.relative_to(REPO))
    sys.exit(0)
