"""Shared M1 fixtures: engines on the tiny models, built once per session.

M1's runner is the ``transformers`` one (``model_impl="transformers"``): these tests keep
checking it after M2 made our own model code the default.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from folovllm.entrypoints.llm import LLM


@pytest.fixture(scope="session")
def tiny_llms(tiny_model_dirs: dict[str, Path]) -> dict[str, LLM]:
    return {name: LLM(str(d), device="cpu", model_impl="transformers")
            for name, d in tiny_model_dirs.items()}


@pytest.fixture(scope="session")
def default_llm(default_model_dir: Path) -> LLM:
    return LLM(str(default_model_dir), device="cpu", model_impl="transformers")


@pytest.fixture
def assert_no_leftovers():
    """After a finished generate, the engine holds no request, detokenizer or generator state."""

    def check(llm: LLM) -> None:
        engine = llm.llm_engine
        assert not engine.requests and not engine.scheduler.has_unfinished()
        assert not engine._detok and not engine._generators

    return check
