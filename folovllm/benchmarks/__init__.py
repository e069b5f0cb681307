"""Benchmarks: our engine against ``transformers`` ``generate``, measured in one process."""

from __future__ import annotations

import json
from pathlib import Path


def report(table: str, result: dict, output_json: str | Path | None) -> None:
    """Print a benchmark's table and, when asked, write its results file (the JSON that the
    docs' tables are rendered from)."""
    print(table)
    if output_json:
        Path(output_json).parent.mkdir(parents=True, exist_ok=True)
        Path(output_json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"results written to {output_json}")
