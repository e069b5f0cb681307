"""The built site, shared by the tests that read it (a build takes a while)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs.docs_tools import REPO


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
