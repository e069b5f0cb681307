"""The glossary: the core terms, one linked entry each, the same entries in both languages."""

from __future__ import annotations

import re

from tests.docs.docs_tools import DOCS

_ENTRY = re.compile(r"^- \*\*(?P<term>[^*]+)\*\*[:：] ?(?P<text>.*\[[^\]]+\]\((?P<link>[^)]+)\))$", re.M)
REQUIRED = ["Prefill", "Decode", "KV cache", "Block", "Block table", "Slot mapping",
            "Continuous batching", "Preemption", "TTFT", "TPOT", "GQA", "RoPE", "RMSNorm",
            "Top-k", "Top-p", "Min-p", "Logprobs"]


def _entries(name: str) -> list[re.Match]:
    return list(_ENTRY.finditer((DOCS / name).read_text(encoding="utf-8")))


def test_glossary_defines_the_core_terms() -> None:
    terms = " | ".join(m.group("term") for m in _entries("glossary.md"))
    missing = [t for t in REQUIRED if not re.search(rf"(^|[ (|]){re.escape(t)}\b", terms)]
    assert not missing, f"glossary lacks {missing}"


def test_every_entry_is_short_and_linked() -> None:
    for name in ("glossary.md", "glossary.zh.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        listed = [ln for ln in text.splitlines() if ln.startswith("- ")]
        assert len(listed) == len(_entries(name)), f"{name}: an entry without a link"
        for m in _entries(name):
            assert len(m.group("text")) < 400, f"{name}: {m.group('term')} is longer than a few lines"


def test_zh_glossary_matches_english() -> None:
    en = sorted(m.group("link") for m in _entries("glossary.md"))
    zh = sorted(m.group("link") for m in _entries("glossary.zh.md"))
    assert en == zh
