"""The README's Python example prints exactly the output the README shows under it."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _fence_after(lang: str, start: int) -> re.Match[str]:
    match = re.compile(rf"^```{lang}\n(.*?)^```$", re.S | re.M).search(README, start)
    assert match, f"README.md has no ```{lang} block after offset {start}"
    return match


def test_the_readme_example_prints_what_the_readme_shows() -> None:
    code = _fence_after("python", README.index("offline API"))
    shown = _fence_after("text", code.end())
    proc = subprocess.run([sys.executable, "-c", code.group(1)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == shown.group(1)
    assert "output tok/s" in proc.stderr  # the progress bar the README mentions
