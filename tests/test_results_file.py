"""Every benchmark's results file is checked before the run: ``folovllm bench`` and the
repository's tools share one check (``check_output_json``) and one writer (``write_results``)."""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path

import pytest

from folovllm.benchmarks import check_output_json, write_results


def test_a_path_the_writer_can_write_passes_and_is_written(tmp_path: Path) -> None:
    """A missing parent folder is fine: the writer makes it."""
    for path in (tmp_path / "r.json", tmp_path / "new" / "deeper" / "r.json"):
        check_output_json(path)
        write_results({"a": 1}, path)
        assert json.loads(path.read_text()) == {"a": 1}
    check_output_json(tmp_path / "r.json")   # an existing file is overwritten
    check_output_json(None)                  # no file asked for


def test_a_path_the_writer_cannot_write_is_an_error(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "notes.txt").write_text("")
    for path, message in [
            (tmp_path, "it is a directory; name a file, e.g. "),
            (tmp_path / "notes.txt" / "sub" / "r.json", "is a file, not a directory"),
            ("", "must name a file")]:
        with pytest.raises(ValueError, match=re.escape(f"output_json='{path}' is invalid: ")
                           + ".*" + re.escape(message)):
            check_output_json(path)
    # tests may run as root, whom os.access never refuses: play a user without the right
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)
    with pytest.raises(ValueError, match=re.escape(f"no permission to write it (in {tmp_path})")):
        check_output_json(tmp_path / "r.json")


@pytest.mark.parametrize("tool, argv, measures", [
    ("gemm", [], "run"),
    ("kernels", [], "run"),
    ("memory", [], "compare"),
    ("transport", [], "measure"),
    ("step_time", ["--model", "m"], "measure"),
    ("ladder", ["--tags", "m0"], "run_ladder"),
])
def test_each_tool_refuses_a_bad_output_json_before_measuring(tool, argv, measures, tmp_path,
                                                              monkeypatch, capsys) -> None:
    module = importlib.import_module(f"benchmarks.{tool}")

    def measured(*args, **kwargs):
        raise AssertionError(f"{tool} measured before refusing --output-json")

    monkeypatch.setattr(module, measures, measured)
    with pytest.raises(SystemExit) as exc:
        module.main([*argv, "--output-json", str(tmp_path)])
    assert exc.value.code == 2
    assert f"argument --output-json: output_json='{tmp_path}' is invalid: it is a directory" in \
        capsys.readouterr().err
