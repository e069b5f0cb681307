"""Docs lockstep: the site builds strictly, pages come in pairs, shown code is code that runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.docs.docs_tools import (
    DOCS,
    REPO,
    RESULT_TABLES,
    SNIPPETS,
    english_pages,
    includes,
    is_include_only,
    pages,
    python_fences,
)


def test_strict_build(site_build: tuple[subprocess.CompletedProcess, Path]) -> None:
    """``mkdocs build --strict``: broken links, anchors, nav entries or includes fail the build
    (the build itself is the ``site_build`` fixture, shared with the tests of the built site)."""
    proc, _ = site_build
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("page", english_pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_page_has_zh_twin(page: Path) -> None:
    twin = page.with_name(page.name[: -len(".md")] + ".zh.md")
    assert twin.is_file(), f"{page.relative_to(REPO)} has no Chinese twin {twin.name}"


def test_every_zh_page_has_english_original() -> None:
    for page in pages():
        if page.name.endswith(".zh.md"):
            assert page.with_name(page.name.replace(".zh.md", ".md")).is_file(), page


def _test_file_for(include: str) -> str | None:
    """Which test runs an included file, or None when nothing does (an orphan)."""
    path = REPO / include
    if SNIPPETS in path.parents and path.suffix == ".py":
        return "tests/docs/test_snippets.py"  # runs every snippet file
    if path.parent == RESULT_TABLES and path.suffix == ".md":
        return "tests/docs/test_benchmarks.py"  # re-rendered from its JSON and compared
    if include.startswith("examples/"):
        return "tests/test_examples.py"  # runs every example
    if include.startswith(("folovllm/", "benchmarks/")) and path.suffix == ".py":
        module = include[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        pattern = re.compile(rf"\b{re.escape(module)}\b")
        for test in sorted((REPO / "tests").rglob("test_*.py")):
            if pattern.search(test.read_text(encoding="utf-8")):
                return str(test.relative_to(REPO))
    return None


def _all_includes() -> list[tuple[Path, str]]:
    return [(page, inc) for page in pages() for inc in includes(page)]


def test_every_include_exists_and_is_run_by_a_test() -> None:
    orphans = []
    for page, inc in _all_includes():
        assert (REPO / inc).is_file(), f"{page.relative_to(REPO)} includes missing file {inc}"
        if _test_file_for(inc) is None:
            orphans.append(f"{page.relative_to(REPO)} -> {inc}")
    assert not orphans, "included files that no test runs:\n" + "\n".join(orphans)


def test_every_snippet_file_is_shown_somewhere() -> None:
    """A snippet that no page includes is dead code in the docs tree."""
    included = {inc for _, inc in _all_includes()}
    unused = [str(p.relative_to(REPO)) for p in SNIPPETS.rglob("*.py")
              if str(p.relative_to(REPO)) not in included]
    assert not unused, f"snippet files no page includes: {unused}"


_FENCE_PAGES = [p for p in pages() if any(not is_include_only(f.body) for f in python_fences(p))]


@pytest.mark.parametrize("page", _FENCE_PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_python_fences_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every python fence on a page runs, top to bottom in one namespace, like a notebook.

    A fence that cannot run here (it needs a GPU, say) is preceded by ``<!-- norun: reason -->``.
    """
    monkeypatch.chdir(REPO)
    namespace: dict = {"__name__": "__docs__"}
    for fence in python_fences(page):
        if is_include_only(fence.body):
            continue
        if fence.norun_reason is not None:
            assert fence.norun_reason, f"{page}:{fence.line}: norun needs a reason"
            continue
        code = compile(fence.body, f"{page.relative_to(REPO)}:{fence.line}", "exec")
        exec(code, namespace)  # noqa: S102 - executing our own docs is the point


def _package_modules() -> list[str]:
    """Every module of the package with something to document (empty ``__init__``s left out)."""
    modules = []
    for path in sorted((REPO / "folovllm").rglob("*.py")):
        if path.name == "__init__.py" and not re.search(r"^(def|class) ", path.read_text(), re.M):
            continue
        parts = path.relative_to(REPO).with_suffix("").parts
        modules.append(".".join(parts[:-1] if path.name == "__init__.py" else parts))
    return modules


@pytest.mark.parametrize("page", ["api.md", "api.zh.md"])
def test_api_reference_covers_every_module(page: str) -> None:
    """One ``::: module`` block per module, so a new module cannot be left out of the reference."""
    documented = re.findall(r"^::: (\S+)", (DOCS / page).read_text(), re.M)
    assert len(documented) == len(set(documented)), f"{page} documents a module twice"
    assert sorted(documented) == sorted(_package_modules()), page
    assert documented == re.findall(r"^::: (\S+)", (DOCS / "api.md").read_text(), re.M)
