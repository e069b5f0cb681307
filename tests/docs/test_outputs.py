"""Every "Output:" block on every page (en and zh) is exactly what its program prints.

The convention (see docs_tools): a python fence that includes a whole snippet file, then a line
"Output:" / "输出：", then a ```text fence. A program that prints must show its output this way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.docs_tools import DOCS, REPO, output_blocks, pages, run_program, shown_programs

_PAGES = [p for p in pages() if output_blocks(p) or shown_programs(p)]


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_output_blocks_are_what_the_programs_print(page: Path) -> None:
    for block in output_blocks(page):
        where = f"{page.relative_to(REPO)}:{block.line}"
        assert block.program, f"{where}: an Output label must follow a whole-file program include"
        assert block.expected is not None, f"{where}: an Output label must precede a ```text fence"
        assert run_program(block.program).stdout == block.expected, (
            f"{where}: the Output block differs from what {block.program} prints:\n"
            + run_program(block.program).stdout)


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_printing_program_shows_its_output(page: Path) -> None:
    shown = {b.program for b in output_blocks(page)}
    for line, path in shown_programs(page):
        if run_program(path).stdout:
            assert path in shown, f"{page.relative_to(REPO)}:{line}: {path} prints, show it"
