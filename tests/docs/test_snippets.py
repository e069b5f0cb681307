"""Every python file under docs/snippets runs to completion (its asserts are the test)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from tests.docs.docs_tools import REPO, SNIPPETS

_FILES = sorted(SNIPPETS.rglob("*.py"))


@pytest.mark.parametrize("path", _FILES, ids=lambda p: str(p.relative_to(SNIPPETS)))
def test_snippet_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    runpy.run_path(str(path), run_name="__main__")
