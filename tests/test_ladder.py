"""The ladder's plumbing: exporting a tag's tree, skipping milestones without a bench, and
running a long ladder in parts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.ladder import LadderArgs, export_tree, format_ladder, main, run_rung


def _repo(tmp_path: Path, tags: tuple[str, ...] = ("m0",)) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", *a], cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("init", "-q")
    (repo / "hello.txt").write_text("m0 tree\n")
    run("add", "hello.txt")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    for tag in tags:
        run("-c", "user.name=t", "-c", "user.email=t@t", "tag", "-a", tag, "-m", tag)
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


def test_exported_trees_run_without_the_history(tmp_path: Path) -> None:
    """--export-to writes each tag's files and commit; --trees runs from them (a GPU machine
    that receives a copy of the working tree has no usable history)."""
    from benchmarks.ladder import COMMIT_FILE, export_trees, run_ladder

    repo = _repo(tmp_path)
    export_trees(repo, ["m0"], tmp_path / "trees")
    commit = (tmp_path / "trees" / "m0" / COMMIT_FILE).read_text().strip()
    assert len(commit) == 40 and (tmp_path / "trees" / "m0" / "hello.txt").is_file()
    ladder = run_ladder(tmp_path / "no-repo-needed", ["m0"], LadderArgs(), trees=tmp_path / "trees")
    assert ladder["rungs"] == [{"tag": "m0", "commit": commit, "skipped": True,
                                "date": ladder["date"]}]
    with pytest.raises(ValueError, match="is not an exported tree"):
        run_ladder(repo, ["m1"], LadderArgs(), trees=tmp_path / "trees")


def test_bench_flags_follow_what_each_milestone_accepts() -> None:
    args = LadderArgs(max_model_len=2048)
    old = args.bench_flags("usage: bench --num-prompts")            # an M1-style bench
    new = args.bench_flags("usage: bench --engines --max-model-len")
    assert "--max-model-len" not in old and "--engines" not in old
    assert new[new.index("--max-model-len") + 1] == "2048"
    assert new[new.index("--engines") + 1] == "folovllm,transformers"


def test_a_relative_model_directory_means_the_callers_not_the_trees(tmp_path, monkeypatch) -> None:
    (tmp_path / "configs" / "tiny").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    flags = LadderArgs(model="configs/tiny").bench_flags("usage: bench")
    assert flags[flags.index("--model") + 1] == str(tmp_path / "configs" / "tiny")
    # a name that is no directory here goes through unchanged, for the bench to judge
    flags = LadderArgs(model="no/such/dir").bench_flags("usage: bench")
    assert flags[flags.index("--model") + 1] == "no/such/dir"


def test_a_bench_that_does_not_start_is_an_error_not_a_skip(tmp_path: Path) -> None:
    cli = tmp_path / "folovllm" / "entrypoints"
    cli.mkdir(parents=True)
    for d in (tmp_path / "folovllm", cli):
        (d / "__init__.py").write_text("")
    (cli / "cli.py").write_text("import no_such_module_anywhere\n")
    with pytest.raises(RuntimeError, match="does not start"):
        run_rung(tmp_path, LadderArgs())


def test_the_ladder_is_repository_tooling_not_a_package_command(capsys) -> None:
    """The ladder needs the git history, so it runs as ``python -m benchmarks.ladder`` from a
    clone; the installed ``folovllm`` command has no ``ladder``, and no package module reads the
    history or writes into ``docs/``."""
    from folovllm.entrypoints.cli import main as folovllm_main

    with pytest.raises(SystemExit):
        folovllm_main(["ladder", "--help"])
    assert "invalid choice: 'ladder'" in capsys.readouterr().err
    package = Path(__file__).resolve().parents[1] / "folovllm"
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "git archive" not in text and '"archive"' not in text, path
        assert "docs/" not in text, path


def test_ladder_command_line_reports_a_missing_tag(tmp_path: Path, capsys, monkeypatch) -> None:
    import benchmarks.ladder as ladder

    monkeypatch.setattr(ladder, "REPO", _repo(tmp_path))
    assert main(["--tags", "m9", "--export-to", str(tmp_path / "trees")]) == 2
    assert "tag 'm9' not found" in capsys.readouterr().err
    assert main(["--tags", "m0", "--export-to", str(tmp_path / "trees")]) == 0
    assert (tmp_path / "trees" / "m0" / "hello.txt").read_text() == "m0 tree\n"


def _fake_benches(monkeypatch, repo: Path, fail_on: str | None = None) -> list[str]:
    """Every rung "measured" without a bench: returns the list of tags measured, in order; the
    bench of ``fail_on`` fails (a run stopped midway)."""
    import benchmarks.ladder as ladder

    measured: list[str] = []

    def fake_rung(tree: Path, args: LadderArgs) -> dict:
        tag = tree.name.split("-")[1]  # the temporary folder is folovllm-<tag>-XXXX
        if tag == fail_on:
            raise RuntimeError(f"bench failed in {tree}")
        measured.append(tag)
        return {"folovllm": 20.0, "transformers": 10.0, "device": "cpu", "torch_version": "t"}

    monkeypatch.setattr(ladder, "REPO", repo)
    monkeypatch.setattr(ladder, "run_rung", fake_rung)
    return measured


def test_a_stopped_ladder_keeps_its_rungs_and_resume_runs_only_the_rest(tmp_path, monkeypatch,
                                                                       capsys) -> None:
    """The results file is written after every rung; --resume keeps what it holds (rungs, their
    days) and measures only the missing tags, in the order --tags gives."""
    out = tmp_path / "ladder.json"
    flags = ["--tags", "m0,m1,m2", "--output-json", str(out), "--resume"]
    measured = _fake_benches(monkeypatch, _repo(tmp_path, ("m0", "m1", "m2")), fail_on="m1")
    assert main(flags) == 2                                  # m1's bench fails: the run stops
    assert "bench failed" in capsys.readouterr().err
    stopped = json.loads(out.read_text())
    assert [r["tag"] for r in stopped["rungs"]] == ["m0"] and measured == ["m0"]
    stopped["rungs"][0]["date"] = "2026-01-01"               # as if it ran on another day
    out.write_text(json.dumps(stopped))

    measured = _fake_benches(monkeypatch, tmp_path / "repo")  # now every bench works
    assert main(flags) == 0
    finished = json.loads(out.read_text())
    assert measured == ["m1", "m2"]                           # m0 is not measured again
    assert [r["tag"] for r in finished["rungs"]] == ["m0", "m1", "m2"]
    assert finished["rungs"][0]["date"] == "2026-01-01"
    assert f"2026-01-01 to {finished['date']}" in format_ladder(finished)
    assert main(flags) == 0 and measured == ["m1", "m2"]      # nothing left to measure


def test_resume_refuses_a_file_of_another_workload_or_other_tags(tmp_path, monkeypatch,
                                                                capsys) -> None:
    out = tmp_path / "ladder.json"
    _fake_benches(monkeypatch, _repo(tmp_path, ("m0", "m1")))
    assert main(["--tags", "m0,m1", "--output-json", str(out)]) == 0
    before = out.read_text()
    assert main(["--tags", "m0,m1", "--output-json", str(out), "--resume",
                 "--num-prompts", "16"]) == 2
    assert "was measured on another workload" in capsys.readouterr().err
    assert main(["--tags", "m1", "--output-json", str(out), "--resume"]) == 2
    assert "holds rungs for m0, which --tags does not name" in capsys.readouterr().err
    assert main(["--tags", "m0", "--resume"]) == 2
    assert "--resume needs --output-json" in capsys.readouterr().err
    other = tmp_path / "bench.json"
    for text in ("not json", '{"results": []}'):
        other.write_text(text)
        assert main(["--tags", "m0", "--output-json", str(other), "--resume"]) == 2
        assert "is not a ladder's results file" in capsys.readouterr().err
    assert out.read_text() == before                          # a refused resume writes nothing


def test_a_ladder_without_resume_measures_every_tag_again(tmp_path, monkeypatch) -> None:
    out = tmp_path / "ladder.json"
    measured = _fake_benches(monkeypatch, _repo(tmp_path, ("m0", "m1")))
    assert main(["--tags", "m0,m1", "--output-json", str(out)]) == 0
    assert main(["--tags", "m0,m1", "--output-json", str(out)]) == 0
    assert measured == ["m0", "m1", "m0", "m1"]


def test_a_resumed_run_that_stops_keeps_the_rungs_it_was_given(tmp_path, monkeypatch) -> None:
    """Rungs kept from the file stay in it when a new rung before them in --tags fails."""
    out = tmp_path / "ladder.json"
    _fake_benches(monkeypatch, _repo(tmp_path, ("m0", "m1", "m2")))
    assert main(["--tags", "m1", "--output-json", str(out)]) == 0
    measured = _fake_benches(monkeypatch, tmp_path / "repo", fail_on="m2")
    assert main(["--tags", "m0,m1,m2", "--output-json", str(out), "--resume"]) == 2
    assert measured == ["m0"]
    assert [r["tag"] for r in json.loads(out.read_text())["rungs"]] == ["m0", "m1"]


def test_the_module_runs_as_a_program(tmp_path: Path) -> None:
    """``python -m benchmarks.ladder``, as the benchmarks page runs it, parses and reports."""
    repo = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, "-m", "benchmarks.ladder", "--tags", "m0", "--resume"],
                         cwd=repo, capture_output=True, text=True)
    assert run.returncode == 2 and "--resume needs --output-json" in run.stderr
