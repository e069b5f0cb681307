"""Shared M1 fixtures: engines on the tiny models, built once per session.

M1's engine ran the ``transformers`` model (``git checkout m1``); on main the engine runs our own
model code, and these tests check that M1's API still behaves the same on it: parity with
``transformers`` stays a real check, against a second implementation of the model.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from folovllm.entrypoints.llm import LLM


@pytest.fixture(scope="session")
def tiny_llms(tiny_model_dirs: dict[str, Path]) -> dict[str, LLM]:
    return {name: LLM(str(d), device="cpu")
            for name, d in tiny_model_dirs.items()}


@pytest.fixture(scope="session")
def default_llm(default_model_dir: Path) -> LLM:
    return LLM(str(default_model_dir), device="cpu")


@pytest.fixture
def assert_no_leftovers():
    """After a finished generate, the engine holds no request, text or detokenizer state, and
    the runner keeps no row or generator beyond the sequences it will be told are finished."""

    def check(llm: LLM) -> None:
        engine = llm.llm_engine
        sched = engine.scheduler
        assert not engine.requests and not sched.waiting and not sched.running
        assert not engine.output_processor.seq_states
        assert set(engine.runner.input_batch.row_of) <= sched._finished_seq_ids

    return check
