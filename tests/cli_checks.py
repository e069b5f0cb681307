"""Running the ``folovllm`` command in a fresh interpreter, to see what it imports, and
reading a subcommand's help."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest

HEAVY = ("torch", "transformers")


@dataclass
class CliRun:
    returncode: int
    out: str
    err: str
    heavy_imports: list[str]  # which of HEAVY the command imported


def run_cli_fresh(argv: list[str]) -> CliRun:
    """Run ``main(argv)`` in a fresh interpreter, as the ``folovllm`` script does."""
    code = ("import json, sys\nfrom folovllm.entrypoints.cli import main\n"
            f"try:\n    rc = main({argv!r})\nexcept SystemExit as e:\n    rc = e.code\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]), file=sys.stderr)\n"
            "sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    err, _, last = proc.stderr.rstrip("\n").rpartition("\n")
    return CliRun(proc.returncode, proc.stdout, err, json.loads(last))


def command_help(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The help of ``folovllm <command>``, on one line (argparse wraps it to the terminal)."""
    from folovllm.entrypoints.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    return " ".join(capsys.readouterr().out.split())
