"""The milestone record: every tagged row points at a real commit that holds its tests."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "milestones"))
from records import read_records  # noqa: E402


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)


def test_table_lists_m0_to_m7_in_order() -> None:
    assert [m.tag for m in read_records()] == [f"m{i}" for i in range(8)]


def test_status_and_commit_agree() -> None:
    for m in read_records():
        assert m.status in ("planned", "in progress", "tagged"), m
        assert (m.status == "tagged") == (m.commit is not None), m


def test_recorded_commits_exist_in_history_with_their_tests() -> None:
    for m in read_records():
        if m.commit is None:
            continue
        assert len(m.commit) == 40, f"{m.tag}: record the full hash"
        assert _git("cat-file", "-e", f"{m.commit}^{{commit}}").returncode == 0, \
            f"{m.tag}: commit {m.commit} is not in this repository"
        assert _git("merge-base", "--is-ancestor", m.commit, "HEAD").returncode == 0, \
            f"{m.tag}: commit {m.commit} is not an ancestor of HEAD"
        tree = _git("ls-tree", "--name-only", m.commit, f"{m.tests}/").stdout.split()
        assert any(name.endswith(".py") for name in tree), f"{m.tag}: {m.tests} missing at {m.commit}"


def test_existing_tags_match_the_record() -> None:
    for m in read_records():
        if m.commit is None:  # a tag may exist before the commit that records it
            continue
        tagged = _git("rev-parse", "-q", "--verify", f"refs/tags/{m.tag}^{{commit}}")
        if tagged.returncode == 0:
            assert tagged.stdout.strip() == m.commit, f"tag {m.tag} disagrees with the record"


def test_the_docs_overview_says_what_the_record_says() -> None:
    """The overview's table and each milestone's **Status.** line call a milestone tagged
    exactly when the record does (en + zh)."""
    words = {"index.md": ("tagged (`{tag}`)", "**Status.** Tagged"),
             "index.zh.md": ("已打标签（`{tag}`）", "**状态。** 已打标签")}
    for page, (cell, status) in words.items():
        text = (REPO / "docs" / "milestones" / page).read_text()
        for m in read_records():
            row = re.search(rf"^\| \[M{m.tag[1:]}\]\(#{m.tag}\) \|.*$", text, re.M).group(0)
            section = text.split(f"{{ #{m.tag} }}", 1)[1].split("\n## ", 1)[0]
            tagged = m.status == "tagged"
            assert (cell.format(tag=m.tag) in row) == tagged, f"{page}: {row}"
            assert (status in section) == tagged, f"{page}: the {m.tag} section's status"
