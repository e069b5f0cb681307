"""Shared M2 fixtures: engines on our own model code, which the engine always runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from folovllm.entrypoints.llm import LLM

# A small KV budget keeps CPU tests light: the cache is allocated (zero-filled) up front.
KV_BYTES = 64 * 2**20


@pytest.fixture(scope="session")
def m2_llms(tiny_model_dirs: dict[str, Path]) -> dict[str, LLM]:
    return {name: LLM(str(d), device="cpu", kv_cache_memory_bytes=KV_BYTES)
            for name, d in tiny_model_dirs.items()}


@pytest.fixture(scope="session")
def m2_default_llm(default_model_dir: Path) -> LLM:
    return LLM(str(default_model_dir), device="cpu", max_model_len=512,
               kv_cache_memory_bytes=KV_BYTES * 8)
