"""Helpers that read the docs sources: pages, their includes and their python fences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
SNIPPETS = DOCS / "snippets"
RESULTS = DOCS / "benchmarks" / "results"          # *.json: the measured numbers
RESULT_TABLES = SNIPPETS / "benchmarks"           # *.md: each JSON rendered, included by pages

_INCLUDE = re.compile(r'--8<--\s+"([^"]+)"')
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)(?P=ticks)[ \t]*$",
    re.S | re.M)
_NORUN = re.compile(r"<!--\s*norun:\s*(?P<why>[^>]*?)\s*-->\s*$")


def pages() -> list[Path]:
    """Every markdown page of the site (both languages), snippets excluded."""
    return sorted(p for p in DOCS.rglob("*.md") if SNIPPETS not in p.parents)


def english_pages() -> list[Path]:
    return [p for p in pages() if not p.name.endswith(".zh.md")]


def includes(page: Path) -> list[str]:
    """Paths included with pymdownx.snippets (``path`` or ``path:section``), section dropped."""
    out = []
    for raw in _INCLUDE.findall(page.read_text(encoding="utf-8")):
        path = raw.split(":", 1)[0] if not raw.startswith("http") else raw
        out.append(path)
    return out


@dataclass
class Fence:
    page: Path
    line: int
    info: str
    body: str
    norun_reason: str | None


def python_fences(page: Path) -> list[Fence]:
    text = page.read_text(encoding="utf-8")
    fences = []
    for m in _FENCE.finditer(text):
        lang = (m.group("info").strip().split() or [""])[0].lstrip(".").lower()
        if lang not in ("python", "py"):
            continue
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        norun = _NORUN.search(before)
        body = "\n".join(line[len(m.group("indent")):] for line in m.group("body").splitlines())
        fences.append(Fence(page, text[: m.start()].count("\n") + 1, m.group("info"), body,
                            norun.group("why") if norun else None))
    return fences


def is_include_only(body: str) -> bool:
    lines = [ln for ln in body.splitlines() if ln.strip()]
    return bool(lines) and all(_INCLUDE.search(ln) for ln in lines)
