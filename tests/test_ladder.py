"""The ladder's plumbing: exporting a tag's tree and skipping milestones without a bench."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from folovllm.benchmarks.ladder import LadderArgs, export_tree, format_ladder, run_rung


def _repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (repo / "hello.txt").write_text("m0 tree\n")
    run("add", "hello.txt")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    run("-c", "user.name=t", "-c", "user.email=t@t", "tag", "-a", "m0", "-m", "m0")
    return repo


def test_export_tree_writes_the_tagged_files(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    commit = export_tree(repo, "m0", out)
    assert len(commit) == 40 and (out / "hello.txt").read_text() == "m0 tree\n"


def test_missing_tag_names_the_script_that_makes_tags(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tag 'm9' not found: run `bash milestones/make_tags.sh`"):
        export_tree(_repo(tmp_path), "m9", tmp_path)


def test_a_milestone_without_bench_is_skipped(tmp_path: Path) -> None:
    assert run_rung(tmp_path, LadderArgs()) is None  # no folovllm package in this tree


def test_format_ladder() -> None:
    ladder = {"workload": vars(LadderArgs()), "device": "cpu", "date": "2026-01-01", "rungs": [
        {"tag": "m0", "commit": "a" * 40, "skipped": True},
        {"tag": "m1", "commit": "b" * 40, "skipped": False, "folovllm": 10.0, "transformers": 8.0},
    ]}
    table = format_ladder(ladder)
    assert "| m0 | `aaaaaaaa` | no engine yet | - | - |" in table
    assert "| m1 | `bbbbbbbb` | 10.0 | 8.0 | 1.25x |" in table
