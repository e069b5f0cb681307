"""Benchmarks: our engine against ``transformers`` ``generate``, measured in one process."""

from __future__ import annotations

import json
import platform
from pathlib import Path


def report(table: str, result: dict, output_json: str | Path | None) -> None:
    """Print a benchmark's table and, when asked, write its results file (the JSON that the
    docs' tables are rendered from)."""
    print(table)
    if output_json:
        write_results(result, output_json)
        print(f"results written to {output_json}")


def write_results(result: dict, path: str | Path) -> None:
    """A results file, as every benchmark writes it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2) + "\n")


def host_cpu_name() -> str:
    """The host processor's model name (a CPU run's speed depends on it; a GPU run's host work
    too), from ``/proc/cpuinfo`` on Linux, else what the ``platform`` module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
