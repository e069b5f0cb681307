"""The performance ladder: one workload through each milestone's engine, as it was at its tag.

For every tag the source tree is exported with ``git archive`` into a temporary folder and that
milestone's own ``folovllm bench`` runs there (in a subprocess, so each milestone imports its own
code), timing that milestone's engine against ``transformers`` ``generate`` on the same workload.
The rungs are collected into one results file, drawn as a table (``format_ladder``) and a chart
(``benchmarks.plot``) on the benchmarks page. A tag whose bench does not exist yet (m0 has no
engine) is recorded as skipped.

A machine without the repository's history (e.g. a GPU machine that gets a copy of the working
tree only) runs from trees exported beforehand: ``--export-to DIR`` writes each tag's files and
commit to ``DIR/<tag>``, and ``--trees DIR`` runs the rungs from there.

A long ladder can run in parts: the results file is written again after every rung, so a run
stopped midway keeps the rungs it finished, and ``--resume`` keeps the rungs already in
``--output-json`` (measured on the same workload) and runs only the missing tags. Each rung
records the day it ran.

It needs a git checkout, so it is repository tooling, not part of the package. From the
repository root::

    python -m benchmarks.ladder --tags m0,m1,m2,m3 --device cpu --output-json ladder-cpu.json
"""

from __future__ import annotations

import argparse
import datetime
import functools
import io
import json
import os
import shlex
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from folovllm.benchmarks import output_json_arg, report, write_results

REPO = Path(__file__).resolve().parents[1]


@dataclass
class LadderArgs:
    """The workload every rung runs: flags every milestone's ``bench`` understands."""

    device: str = "cpu"
    num_prompts: int = 8
    input_len: int = 64
    output_len: int = 64
    repeats: int = 1
    model: str | None = None
    load_format: str = "auto"
    max_model_len: int | None = None   # passed to the milestones whose bench has the flag

    def bench_flags(self, bench_help: str) -> list[str]:
        flags = ["--device", self.device, "--num-prompts", str(self.num_prompts),
                 "--input-len", str(self.input_len), "--output-len", str(self.output_len),
                 "--repeats", str(self.repeats), "--load-format", self.load_format]
        if self.max_model_len is not None and "--max-model-len" in bench_help:
            flags += ["--max-model-len", str(self.max_model_len)]
        if "--engines" in bench_help:  # later milestones compare three engines; keep two
            flags += ["--engines", "folovllm,transformers"]
        return flags + (["--model", self._model_path()] if self.model else [])

    def _model_path(self) -> str:
        """The model as the bench must see it: each bench runs with its tree as the working
        directory, so a relative directory is made absolute against the ladder's own one (the
        recorded workload keeps the path as typed, so results files stay machine-independent)."""
        path = Path(self.model)
        return str(path.resolve()) if path.exists() else self.model


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True)


def export_tree(repo: Path, tag: str, dest: Path) -> str:
    """Write the files of ``tag`` into ``dest``; returns the tag's commit."""
    commit = _git(repo, "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}")
    if commit.returncode != 0:
        raise ValueError(f"tag {tag!r} not found: run `bash milestones/make_tags.sh` first")
    archive = _git(repo, "archive", "--format=tar", tag)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return commit.stdout.decode().strip()


def run_rung(tree: Path, args: LadderArgs) -> dict | None:
    """That milestone's bench on ``args``; None when the milestone has no bench."""
    if not (tree / "folovllm" / "entrypoints" / "cli.py").is_file():
        return None
    cli = [sys.executable, "-m", "folovllm.entrypoints.cli", "bench"]
    env = {**os.environ, "PYTHONPATH": str(tree)}  # that milestone's code, not ours
    help_text = subprocess.run([*cli, "--help"], cwd=tree, env=env, capture_output=True,
                               text=True)
    if help_text.returncode != 0:
        if "invalid choice: 'bench'" in help_text.stderr:  # a CLI from before the bench (m0)
            return None
        raise RuntimeError(f"the bench of {tree} does not start:\n{help_text.stderr[-2000:]}")
    out = tree.resolve() / "ladder-result.json"   # the bench runs with the tree as its cwd
    flags = args.bench_flags(help_text.stdout) + ["--output-json", str(out)]
    proc = subprocess.run([*cli, *flags], cwd=tree, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench failed in {tree}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    result = json.loads(out.read_text())
    speed = {r["engine"]: r["output_tokens_per_s"] for r in result["results"]}
    return {"folovllm": speed["folovllm"], "transformers": speed["transformers"],
            "device": result["device"], "torch_version": result["torch_version"]}


COMMIT_FILE = "LADDER_COMMIT"


def export_trees(repo: Path, tags: list[str], dest: Path) -> None:
    """Each tag's files and commit into ``dest/<tag>``, for a machine without the history."""
    for tag in tags:
        tree = dest / tag
        tree.mkdir(parents=True, exist_ok=False)
        (tree / COMMIT_FILE).write_text(export_tree(repo, tag, tree) + "\n")


def run_ladder(repo: Path, tags: list[str], args: LadderArgs, command: str = "",
               trees: Path | None = None, done: Sequence[dict] = (),
               on_rung: Callable[[dict], None] | None = None) -> dict:
    """One rung per tag, from a temporary export of ``repo`` or from ``trees/<tag>``.

    The rungs in ``done`` (of an earlier, unfinished run on the same workload) are kept, not run
    again; ``on_rung`` gets the ladder as it stands after each new rung, so that a caller can
    save it before the next rung starts."""
    kept = {r["tag"]: r for r in done}
    if unknown := sorted(set(kept) - set(tags)):
        raise ValueError(f"the earlier run holds rungs for {', '.join(unknown)}, which --tags "
                         "does not name: resume with the same tags")
    for tag in tags:
        if tag not in kept:
            kept[tag] = _measure_rung(repo, tag, args, trees)
            if on_rung is not None:
                on_rung(_ladder(args, [kept[t] for t in tags if t in kept], command))
    return _ladder(args, [kept[t] for t in tags], command)


def _measure_rung(repo: Path, tag: str, args: LadderArgs, trees: Path | None) -> dict:
    if trees is not None:
        if not (trees / tag / COMMIT_FILE).is_file():
            raise ValueError(f"{trees / tag} is not an exported tree: make it with "
                             "`python -m benchmarks.ladder --export-to DIR`")
        commit = (trees / tag / COMMIT_FILE).read_text().strip()
        rung = run_rung(trees / tag, args)
    else:
        with tempfile.TemporaryDirectory(prefix=f"folovllm-{tag}-") as tmp:
            commit = export_tree(repo, tag, Path(tmp))
            rung = run_rung(Path(tmp), args)
    return {"tag": tag, "commit": commit, "skipped": rung is None,
            "date": datetime.date.today().isoformat(), **(rung or {})}


def _ladder(args: LadderArgs, rungs: list[dict], command: str) -> dict:
    measured = [r for r in rungs if not r["skipped"]]
    dates = sorted(r["date"] for r in rungs)
    return {"workload": vars(args), "rungs": rungs, "command": command,
            "device": measured[0]["device"] if measured else args.device,
            "date": dates[-1] if dates else datetime.date.today().isoformat()}


def earlier_rungs(path: Path, args: LadderArgs) -> list[dict]:
    """The rungs of an unfinished ladder in ``path``, for ``--resume``; none if there is no
    file yet. A file measured on another workload is an error: its rungs would not compare."""
    if not path.is_file():
        return []
    try:
        ladder = json.loads(path.read_text())
        rungs = ladder["rungs"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(f"{path} is not a ladder's results file: nothing to resume") from None
    if ladder.get("workload") != vars(args):
        raise ValueError(f"{path} was measured on another workload ({ladder.get('workload')}); "
                         f"this run asks for {vars(args)}: resume with the same flags, or write "
                         "to another file")
    return [{"date": ladder.get("date"), **r} for r in rungs]  # older files: one date


def format_ladder(ladder: dict) -> str:
    w = ladder["workload"]
    dates = sorted({r.get("date", ladder["date"]) for r in ladder["rungs"]} or {ladder["date"]})
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    lines = [
        f"Workload: {w['num_prompts']} prompts x {w['input_len']} input tokens -> "
        f"{w['output_len']} output tokens (greedy, EOS ignored), best of {w['repeats']} runs; "
        f"device `{ladder['device']}`, {when}.",
        "",
        "| milestone | commit | folovllm tok/s | transformers tok/s | ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for r in ladder["rungs"]:
        if r["skipped"]:
            lines.append(f"| {r['tag']} | `{r['commit'][:8]}` | no engine yet | - | - |")
        else:
            lines.append(f"| {r['tag']} | `{r['commit'][:8]}` | {r['folovllm']:.1f} | "
                         f"{r['transformers']:.1f} | {r['folovllm'] / r['transformers']:.2f}x |")
    lines.append("")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ladder",
                                description="one workload at each milestone tag (temporary exports)")
    p.add_argument("--tags", default="m0,m1,m2", help="comma-separated milestone tags")
    p.add_argument("--device", default="cpu", help="cpu|cuda")
    p.add_argument("--model", default=None, help="HF model directory (default: the default model)")
    p.add_argument("--load-format", default="auto", help="auto|dummy (random weights)")
    p.add_argument("--num-prompts", type=int, default=8)
    p.add_argument("--input-len", type=int, default=64)
    p.add_argument("--output-len", type=int, default=64)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--max-model-len", type=int, default=None,
                   help="for the milestones whose bench has the flag")
    p.add_argument("--export-to", default=None,
                   help="only write each tag's tree to DIR/<tag>, for a machine without history")
    p.add_argument("--trees", default=None, help="run from trees made by --export-to")
    p.add_argument("--output-json", default=None, type=output_json_arg,
                   help="also write the results to this file (again after every rung)")
    p.add_argument("--resume", action="store_true",
                   help="keep the rungs already in --output-json and run only the missing tags")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        return _run(args, argv)
    except (ValueError, RuntimeError) as e:  # a missing tag, a bench that fails: say which
        print(f"error: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    tags = [t.strip() for t in args.tags.split(",") if t.strip()]
    if args.export_to:
        export_trees(REPO, tags, Path(args.export_to))
        print(f"exported {', '.join(tags)} to {args.export_to}")
        return 0
    ladder_args = LadderArgs(device=args.device, num_prompts=args.num_prompts,
                             input_len=args.input_len, output_len=args.output_len,
                             repeats=args.repeats, model=args.model, load_format=args.load_format,
                             max_model_len=args.max_model_len)
    if args.resume and not args.output_json:
        raise ValueError("--resume needs --output-json: the file whose rungs it keeps")
    output = Path(args.output_json) if args.output_json else None
    done = earlier_rungs(output, ladder_args) if args.resume else []
    trees = Path(args.trees) if args.trees else None
    # the file after every rung: a run stopped midway loses only the rung in flight
    save = functools.partial(write_results, path=output) if output else None
    result = run_ladder(REPO, tags, ladder_args, trees=trees, done=done, on_rung=save,
                        command=shlex.join(["python", "-m", "benchmarks.ladder", *argv]))
    report(format_ladder(result), result, args.output_json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
