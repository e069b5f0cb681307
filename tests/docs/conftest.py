"""Fixtures of the docs tests: the built site, shared by the tests that read it (a build
takes a while), and the release of the programs' globals when the docs tests end."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.docs_tools import REPO, run_program


@pytest.fixture(scope="session")
def site_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """``mkdocs build --strict`` into a temporary folder: (the process, the site folder).

    Never add ``-q``: strict mode counts *logged* warnings, and ``-q`` hides them, so a quiet
    strict build passes with broken links.
    """
    site = tmp_path_factory.mktemp("site")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
                          cwd=REPO, capture_output=True, text=True)
    return proc, site


@pytest.fixture(scope="package", autouse=True)
def _release_programs() -> Iterator[None]:
    """The programs' globals (loaded models, engines) are shared by the docs tests only.

    run_program keeps each program's run for the rest of the docs tests, so that a program
    runs once however many pages and tests look at it; the other suites get the memory back.
    """
    yield
    run_program.cache_clear()
    gc.collect()
