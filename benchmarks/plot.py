"""Bar charts of benchmark results, as plain SVG text.

Each results file (``docs/benchmarks/results/*.json``) becomes one chart of output tokens per
second per engine. The SVG is written by hand, deterministically, so a test can re-draw every
committed chart from its JSON and fail if a chart and its numbers ever disagree; it needs no
plotting library.

Run ``python -m benchmarks.plot`` to (re)draw every chart.
"""

from __future__ import annotations

import json
import sys
from html import escape
from pathlib import Path

RESULTS = Path("docs/benchmarks/results")
PLOTS = Path("docs/benchmarks/plots")
_BAR_H, _GAP, _LEFT, _WIDTH, _TOP = 26, 10, 130, 460, 40
_COLORS = {"folovllm": "#3f51b5", "folovllm-m1": "#9fa8da", "transformers": "#ff9800"}


def render_svg(result: dict, title: str) -> str:
    """One horizontal bar per engine, scaled to the fastest, labelled with its tokens/s."""
    rows = result["results"]
    top = max(r["output_tokens_per_s"] for r in rows)
    height = _TOP + len(rows) * (_BAR_H + _GAP) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LEFT + _WIDTH + 110}" '
        f'height="{height}" font-family="sans-serif" font-size="13">',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for i, r in enumerate(rows):
        y = _TOP + i * (_BAR_H + _GAP)
        w = round(_WIDTH * r["output_tokens_per_s"] / top, 1)
        color = _COLORS.get(r["engine"], "#607d8b")
        parts += [
            f'<text x="{_LEFT - 8}" y="{y + 18}" text-anchor="end">{escape(r["engine"])}</text>',
            f'<rect x="{_LEFT}" y="{y}" width="{w}" height="{_BAR_H}" fill="{color}"/>',
            f'<text x="{_LEFT + w + 6}" y="{y + 18}">{r["output_tokens_per_s"]:.1f} tok/s</text>',
        ]
    parts += [
        f'<text x="10" y="{height - 8}" font-size="11" fill="#555">'
        f'{escape(result["device"])}, {escape(result["date"])}; output tokens per second, '
        'higher is better</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def draw_all(results_dir: Path = RESULTS, plots_dir: Path = PLOTS) -> list[Path]:
    """Draw ``plots_dir/<name>.svg`` for every throughput or ladder results file (kernel and
    memory results are tables only)."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    written = []
    from benchmarks.ladder import render_ladder_svg

    for path in sorted(results_dir.glob("*.json")):
        out = plots_dir / f"{path.stem}.svg"
        data = json.loads(path.read_text())
        if "rungs" not in data and "results" not in data:
            continue
        draw = render_ladder_svg if "rungs" in data else render_svg
        out.write_text(draw(data, path.stem))
        written.append(out)
    return written


if __name__ == "__main__":
    for p in draw_all():
        print(p)
    sys.exit(0)
