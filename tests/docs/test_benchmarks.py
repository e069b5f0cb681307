"""Benchmark numbers in the docs come from committed results files, rendered by code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from folovllm.benchmarks.throughput import format_table
from tests.docs.docs_tools import RESULT_TABLES, RESULTS

_JSON = sorted(RESULTS.glob("*.json"))


def test_there_are_results() -> None:
    assert _JSON, "docs/benchmarks/results/ holds no results file"


@pytest.mark.parametrize("path", _JSON, ids=lambda p: p.name)
def test_table_is_rendered_from_its_json(path: Path) -> None:
    """The Markdown table the docs include is exactly what the JSON renders to."""
    result = json.loads(path.read_text())
    table = RESULT_TABLES / (path.stem + ".md")
    assert table.is_file(), f"{table.name} missing: render it with format_table"
    assert table.read_text() == format_table(result)


@pytest.mark.parametrize("path", _JSON, ids=lambda p: p.name)
def test_results_are_consistent(path: Path) -> None:
    """Every derived number in a results file agrees with the measured ones."""
    result = json.loads(path.read_text())
    by = {r["engine"]: r for r in result["results"]}
    for r in by.values():
        assert r["output_tokens_per_s"] == pytest.approx(r["output_tokens"] / r["seconds"], abs=0.01)
    base = by["transformers"]["output_tokens_per_s"]
    for r in by.values():  # the ratio column (M2+ files) or the top-level ratio (M1 file)
        if "vs_transformers" in r:
            assert r["vs_transformers"] == pytest.approx(r["output_tokens_per_s"] / base, abs=0.002)
    if "ratio" in result:
        assert result["ratio"] == pytest.approx(by["folovllm"]["output_tokens_per_s"] / base,
                                                abs=0.002)
    assert result["command"].startswith("folovllm bench")
