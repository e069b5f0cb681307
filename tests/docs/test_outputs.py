"""Programs on pages: every "Output:" block (en and zh) is exactly what its program prints.

The convention (see docs_tools): a python fence that includes a whole snippet file, then a line
"Output:" / "输出：", then a ```text fence. A program that prints must show its output this way,
and every snippet program a page includes (whole or by section) fits in 80 columns, so that it
reads without scrolling.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.docs_tools import (
    DOCS,
    REPO,
    english_pages,
    includes,
    output_blocks,
    pages,
    run_program,
    shown_programs,
)

_PAGES = [p for p in pages() if output_blocks(p) or shown_programs(p)]
WIDTH = 80


def _included_snippet_programs() -> set[str]:
    """Every python file under docs/snippets that a page includes, whole or by section."""
    return {inc for page in pages() for inc in includes(page)
            if inc.startswith("docs/snippets/") and inc.endswith(".py")}


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_output_blocks_are_what_the_programs_print(page: Path) -> None:
    for block in output_blocks(page):
        where = f"{page.relative_to(REPO)}:{block.line}"
        assert block.program, f"{where}: an Output label must follow a whole-file program include"
        assert block.expected is not None, f"{where}: an Output label must precede a ```text fence"
        printed = run_program(block.program).stdout
        assert printed == block.expected, (
            f"{where}: the Output block differs from what {block.program} prints:\n{printed}")


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_printing_program_shows_its_output(page: Path) -> None:
    shown = {b.program for b in output_blocks(page)}
    for program in shown_programs(page):
        if run_program(program.path).stdout:
            assert program.path in shown, \
                f"{page.relative_to(REPO)}:{program.line}: {program.path} prints; show its Output"


def test_programs_fit_in_80_columns() -> None:
    """Whole-file programs and the files pages show sections of: no line wider than 80."""
    shown = {s.path for page in pages() for s in shown_programs(page)}
    assert shown <= _included_snippet_programs()
    wide = []
    for path in sorted(_included_snippet_programs()):
        for number, line in enumerate((REPO / path).read_text(encoding="utf-8").splitlines(), 1):
            if len(line) > WIDTH:
                wide.append(f"{path}:{number} ({len(line)} columns)")
    assert not wide, "program lines wider than 80 columns:\n" + "\n".join(wide)


@pytest.mark.parametrize("page", [p for p in english_pages() if shown_programs(p)],
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_zh_twin_shows_the_same_programs(page: Path) -> None:
    """Same programs, same highlighted lines, in the same order, in both languages."""
    twin = page.with_name(page.name[: -len(".md")] + ".zh.md")
    assert [(s.path, s.info) for s in shown_programs(page)] == \
        [(s.path, s.info) for s in shown_programs(twin)]
    assert [b.program for b in output_blocks(page)] == [b.program for b in output_blocks(twin)]
