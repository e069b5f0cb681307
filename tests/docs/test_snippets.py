"""Every python file under docs/snippets runs to completion; programs stay readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.docs_tools import REPO, SNIPPETS, run_program

_FILES = sorted(SNIPPETS.rglob("*.py"))


@pytest.mark.parametrize("path", _FILES, ids=lambda p: str(p.relative_to(SNIPPETS)))
def test_snippet_runs(path: Path) -> None:
    run_program(str(path.relative_to(REPO)))  # cached: the Output tests reuse the same run
