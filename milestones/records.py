"""Read the milestone table in milestones/README.md (used by make_tags.sh and the tests)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).with_name("README.md")


@dataclass(frozen=True)
class Milestone:
    name: str
    tag: str
    status: str
    commit: str | None
    adds: str
    tests: str


def read_records(path: Path = README) -> list[Milestone]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6 or not cells[0].startswith("M") or not cells[0][1:].isdigit():
            continue
        name, tag, status, commit, adds, tests = cells[:6]
        rows.append(Milestone(name, tag, status, None if commit in ("", "-") else commit, adds,
                              tests))
    return rows


if __name__ == "__main__":
    # "tag commit adds" per tagged row, for make_tags.sh
    for m in read_records():
        if m.commit:
            print(m.tag, m.commit, m.adds.replace("\n", " "), sep="\t")
    sys.exit(0)
