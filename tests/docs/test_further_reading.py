"""Every learn page ends with further reading; source links are pinned and our paths exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.docs_tools import DOCS, REPO, pages

_LEARN = sorted(DOCS.glob("milestones/m*/learn*.md"))
_HEADINGS = ("## Further reading: where this lives in vLLM", "## 延伸阅读：这些概念在 vLLM 中的位置")
_GITHUB_BLOB = re.compile(r"https://github\.com/([\w.-]+/[\w.-]+)/blob/([^/)\s]+)/([^)#\s]+)")


@pytest.mark.parametrize("page", _LEARN, ids=lambda p: str(p.relative_to(DOCS)))
def test_learn_page_has_further_reading(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    heading = next((h for h in _HEADINGS if h in text), None)
    assert heading, f"{page.relative_to(REPO)} has no further-reading section"
    section = text.split(heading, 1)[1]
    assert "arxiv.org" in section or "usenix.org" in section, "at least one paper"
    assert "vllm-project/vllm" in section and "GeeeekExplorer/nano-vllm" in section
    for path in re.findall(r"`(folovllm/[\w/.]+)`", section):
        assert (REPO / path).exists(), f"{page.relative_to(REPO)} names missing {path}"


def test_source_links_are_pinned_to_a_commit() -> None:
    """A link to a file on a branch drifts; a link to a commit shows what the page describes."""
    loose = [f"{page.relative_to(REPO)}: {m.group(0)}" for page in pages()
             for m in _GITHUB_BLOB.finditer(page.read_text(encoding="utf-8"))
             if not re.fullmatch(r"[0-9a-f]{40}", m.group(2))]
    assert not loose, "links not pinned to a commit:\n" + "\n".join(loose)
