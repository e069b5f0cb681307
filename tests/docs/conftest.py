"""Fixtures of the docs tests."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.docs.docs_tools import run_program


@pytest.fixture(scope="package", autouse=True)
def _release_programs() -> Iterator[None]:
    """The programs' globals (loaded models, engines) are shared by the docs tests only.

    run_program keeps each program's run for the rest of the docs tests, so that a program
    runs once however many pages and tests look at it; the other suites get the memory back.
    """
    yield
    run_program.cache_clear()
    gc.collect()
