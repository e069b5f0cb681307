"""Helpers that read the docs sources: pages, their includes and their python fences."""

from __future__ import annotations

import contextlib
import functools
import io
import re
import runpy
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


# --- programs and their "Output:" blocks ---------------------------------------------------------
# The convention: a program is a python fence that includes one whole file under docs/snippets;
# when it prints, the next thing on the page is a line "Output:" (zh: "输出：") and a ```text
# fence holding exactly what it prints.

OUTPUT_LABELS = ("Output:", "输出：")
_LABEL = re.compile(r"^[ \t]*(?:Output:|输出：)[ \t]*$", re.M)


@dataclass(frozen=True)
class Run:
    """What running a program printed, and the globals it left (tests assert on them)."""

    stdout: str
    namespace: dict


@functools.cache
def run_program(rel_path: str) -> Run:
    """Run a snippet file once per test session, as ``python FILE`` from the repo root would."""
    buf = io.StringIO()
    with contextlib.chdir(REPO), contextlib.redirect_stdout(buf):
        namespace = runpy.run_path(str(REPO / rel_path), run_name="__main__")
    return Run(buf.getvalue(), namespace)


def program_path(body: str) -> str | None:
    """The file a fence body includes whole (``--8<-- "docs/snippets/x.py"``), else None."""
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    if len(lines) != 1:
        return None
    found = _INCLUDE.fullmatch(lines[0])
    path = found.group(1) if found else ""
    if ":" in path or not path.endswith(".py") or not path.startswith("docs/snippets/"):
        return None  # a section of a file, or library code shown for reading
    return path


def _dedent(match: re.Match) -> str:
    indent = len(match.group("indent"))
    return "".join(ln[indent:] + "\n" for ln in match.group("body").splitlines())


@dataclass
class OutputBlock:
    page: Path
    line: int
    program: str | None   # the whole-file include right above the label, if any
    expected: str | None  # the ```text fence right below the label, if any


def output_blocks(page: Path) -> list[OutputBlock]:
    """Every "Output:" label of a page, with the program above it and the text below it."""
    text = page.read_text(encoding="utf-8")
    fences = list(_FENCE.finditer(text))
    blocks = []
    for label in _LABEL.finditer(text):
        above = [f for f in fences if f.end() <= label.start()]
        below = [f for f in fences if f.start() >= label.end()]
        program = expected = None
        if above and not text[above[-1].end():label.start()].strip():
            program = program_path(above[-1].group("body"))
        if below and not text[label.end():below[0].start()].strip() \
                and below[0].group("info").strip() == "text":
            expected = _dedent(below[0])
        blocks.append(OutputBlock(page, text[: label.start()].count("\n") + 1, program, expected))
    return blocks


@dataclass(frozen=True)
class Shown:
    line: int
    path: str
    info: str  # the fence's info string, e.g. 'python hl_lines="3 5"'


def shown_programs(page: Path) -> list[Shown]:
    """Every whole-file program a page includes in a python fence."""
    text = page.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        lang = (m.group("info").strip().split() or [""])[0].lower()
        if lang in ("python", "py") and (path := program_path(m.group("body"))):
            out.append(Shown(text[: m.start()].count("\n") + 1, path, m.group("info").strip()))
    return out
