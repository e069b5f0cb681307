"""Benchmarks: our engine against ``transformers`` ``generate``, measured in one process."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from folovllm.validation import fail


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


def check_output_json(path: str | Path | None) -> None:
    """Refuse, before anything is measured, a results file that :func:`write_results` could not
    write: otherwise the error comes after the whole run and its results are lost. A missing
    parent folder is fine (the writer makes it), a file in the way of one is not."""
    if path is None:
        return
    if str(path) == "":
        raise fail("output_json", str(path), "must name a file")
    target = Path(path)
    if target.is_dir():
        raise fail("output_json", str(path), "it is a directory; name a file, e.g. "
                   f"{target / 'results.json'}")
    folder = next(p for p in target.absolute().parents if p.exists())
    if not folder.is_dir():
        raise fail("output_json", str(path), f"{folder} is a file, not a directory")
    if not os.access(folder, os.W_OK | os.X_OK) or \
            (target.exists() and not os.access(target, os.W_OK)):
        raise fail("output_json", str(path), f"no permission to write it (in {folder})")


def output_json_arg(value: str) -> str:
    """``--output-json``'s argparse type in the repository's benchmark tools: the same check as
    the ``folovllm bench`` command's, when the arguments are parsed."""
    try:
        check_output_json(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


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
