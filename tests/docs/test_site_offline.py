"""The built site works offline: every script, stylesheet and font it loads is its own."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

# URLs that the site's JavaScript holds but never fetches on this site, each with the reason
_NEVER_FETCHED = {
    "https://unpkg.com/mermaid@11/dist/mermaid.min.js":
        "Material's fallback when no global `mermaid` exists; every page with a diagram loads the "
        "local copy first (test_pages_with_diagrams_load_the_local_mermaid)",
    "https://unpkg.com/resize-observer-polyfill":
        "Material's polyfill for browsers without ResizeObserver (every current browser has it)",
    "https://cdn.jsdelivr.net/npm/speech-rule-engine@":
        "MathJax's speech engine, for the accessibility explorer that is off unless a reader "
        "turns it on in MathJax's menu",
    "https://cdn.jsdelivr.net/npm/sre-mathmaps-ie@": "the same engine's maps, for Internet Explorer",
    "https://cdn.jsdelivr.net/npm/wicked-good-xpath@1.3.0/dist/wgxpath.install.js":
        "an XPath polyfill MathJax loads for Internet Explorer only",
}
_CDN = re.compile(r"(?:https?:)?//[\w.-]*(?:unpkg|jsdelivr|cdnjs|googleapis|gstatic|"
                  r"bootstrapcdn|cloudflare|polyfill)\.[\w./@-]*")


class _Loads(HTMLParser):
    """Every script, stylesheet, preconnect and font a page asks the browser for."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(a["src"])
        rel = (a.get("rel") or "").split()
        if tag == "link" and {"stylesheet", "preconnect", "preload", "modulepreload"} & set(rel):
            self.urls.append(a.get("href") or "")


def _loads(page: Path) -> list[str]:
    parser = _Loads()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.urls


def _external(url: str) -> bool:
    return bool(re.match(r"(?:[a-z]+:)?//", url))


@pytest.fixture(scope="module")
def site(site_build: tuple[subprocess.CompletedProcess, Path]) -> Path:
    proc, path = site_build
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return path


def test_pages_load_nothing_from_elsewhere(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        for url in _loads(page):
            assert not _external(url), f"{page.relative_to(site)} loads {url}"
            # 404.html links from the site's root: it is served at any missing address
            base = site if url.startswith("/") else page.parent
            target = (base / url.split("?")[0].lstrip("/")).resolve()
            assert target.is_file(), f"{page.relative_to(site)} loads {url}, which is not in the site"


def test_the_check_sees_an_external_script() -> None:
    parser = _Loads()
    parser.feed('<link href="https://fonts.googleapis.com/css" rel="stylesheet">'
                '<script defer src="//unpkg.com/x.js"></script><script>inline()</script>')
    assert [_external(u) for u in parser.urls] == [True, True]


def test_scripts_and_styles_name_no_cdn_they_would_fetch(site: Path) -> None:
    found = {}
    for path in [*site.rglob("*.js"), *site.rglob("*.css")]:
        for url in _CDN.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.setdefault(url, path.relative_to(site))
    unexplained = {u: str(p) for u, p in found.items() if u not in _NEVER_FETCHED}
    assert not unexplained, f"CDN URLs in the site's scripts and styles: {unexplained}"


def test_pages_with_diagrams_load_the_local_mermaid(site: Path) -> None:
    with_diagrams = [p for p in site.rglob("*.html") if 'class="mermaid"' in p.read_text()]
    assert with_diagrams, "no page has a mermaid diagram: the check would prove nothing"
    for page in with_diagrams:
        scripts = [u for u in _loads(page) if u.endswith(".js")]
        mermaid = [i for i, u in enumerate(scripts) if u.endswith("vendor/mermaid/mermaid.min.js")]
        bundle = [i for i, u in enumerate(scripts) if "/javascripts/bundle." in u]
        assert mermaid and bundle and mermaid[0] < bundle[0], page.relative_to(site)


def test_pages_with_formulas_load_the_local_mathjax(site: Path) -> None:
    with_math = [p for p in site.rglob("*.html") if 'class="arithmatex"' in p.read_text()]
    assert with_math
    for page in with_math:
        scripts = _loads(page)
        assert any(u.endswith("vendor/mathjax/tex-mml-chtml.js") for u in scripts), page
    fonts = site / "assets" / "vendor" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert any(fonts.glob("*.woff")), "MathJax's CHTML output needs its fonts next to it"


def test_language_links_are_relative(site: Path) -> None:
    """The switcher works wherever the site is served from (a sub-path, a folder)."""
    for page in (site / "index.html", site / "zh" / "index.html",
                 site / "benchmarks" / "index.html"):
        links = re.findall(r'href="([^"]*)" hreflang=', page.read_text())
        assert links and not [u for u in links if u.startswith("/") or _external(u)], links
