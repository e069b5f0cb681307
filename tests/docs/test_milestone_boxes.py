"""Each milestone page opens with a "Run it yourself" box whose commands all work."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.docs.docs_tools import DOCS, REPO

_KINDS = ("learn", "interview", "walkthrough", "exercises")
_PAGES = sorted(p for p in DOCS.glob("milestones/m*/*.md") if p.stem.split(".")[0] in _KINDS)
_BOX = re.compile(r'\A# [^\n]+\n\n!!! abstract "[^"]+"\n\n    ```bash\n(?P<cmds>.*?)\n    ```\n', re.S)


def _tag_commit(milestone: str) -> str:
    """The commit milestones/README.md records for a tag (what `make tags` creates)."""
    row = next(ln for ln in (REPO / "milestones/README.md").read_text().splitlines()
               if ln.startswith(f"| {milestone.upper()} | {milestone} |"))
    return row.split("|")[4].strip()


def _commands(page: Path) -> list[str]:
    box = _BOX.match(page.read_text(encoding="utf-8"))
    assert box, f"{page.relative_to(REPO)} does not open with the milestone box"
    return [ln.split("#", 1)[0].strip() for ln in box.group("cmds").splitlines()]


@pytest.mark.parametrize("page", _PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_box_commands_exist(page: Path) -> None:
    milestone = page.parent.name
    commands = _commands(page)
    assert commands[:4] == ["make tags", f"git checkout {milestone}", "make test",
                            f".venv/bin/python -m pytest -m {milestone}"]
    assert re.search(r"^tags:", (REPO / "Makefile").read_text(), re.M)
    assert f'"{milestone}: ' in (REPO / "pyproject.toml").read_text()  # the marker is declared
    examples = sorted(c.split()[-1] for c in commands if "examples/" in c)
    expected = sorted(str(p.relative_to(REPO)) for p in (REPO / "examples").glob(f"{milestone}_*.py"))
    assert examples == expected, "the box lists exactly this milestone's examples"
    if shutil.which("git") and (REPO / ".git").exists():
        tree = subprocess.run(["git", "ls-tree", "--name-only", _tag_commit(milestone), "examples/"],
                              cwd=REPO, capture_output=True, text=True)
        if tree.returncode == 0:  # the recorded commit is in this clone's history
            assert set(examples) <= set(tree.stdout.split()), "each example exists at the tag"
