"""MkDocs hook: the site works offline, with no script, stylesheet or font from a CDN.

Mermaid (diagrams) and MathJax (formulas) come from the npm registry at build time, at pinned
versions whose tarballs are checked against the registry's sha512 integrity, and are served from
the site itself (``assets/vendor/``). They are fetched rather than committed because the files
the site needs weigh about 5 MB of minified third-party code (mermaid.min.js alone is 3.5 MB),
which would sit in the history again with every upgrade; ``npm pack`` downloads one tarball per
package (no dependency tree) into ``.cache/docs-vendor/`` (ignored by git), once per clone.

Each page gets the scripts it needs and only those: mermaid where a diagram is, MathJax where a
formula is. Material for MkDocs loads mermaid from unpkg.com unless a global ``mermaid`` already
exists, so the local copy is inserted before Material's own script. The language switcher's
links are made relative, so the site works under any sub-path and from ``file://`` whatever
``site_url`` says.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mkdocs.utils import get_relative_url

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "docs-vendor"
VENDOR = "assets/vendor"   # where the files go in the built site


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str              # the registry's sha512 of the tarball (`npm view NAME@V dist.integrity`)
    files: dict[str, str]       # path in the tarball (a folder ends with "/") -> path under VENDOR

    @property
    def folder(self) -> Path:
        return CACHE / f"{self.name}-{self.version}"


# mermaid 11: the major version Material for MkDocs 9 is written against
MERMAID = NpmPackage("mermaid", "11.17.2",
                     "sha512-V6K3C8EBdEsPFZXSKMJe6ppQOENxuHARr9GvHX4hh47lAbhMRD9qf4oEK7LoaRQxULMa80/qt5gHO73aCleBBg==",
                     {"package/dist/mermaid.min.js": "mermaid/mermaid.min.js",
                      "package/LICENSE": "mermaid/LICENSE"})
# the CHTML output loads its fonts from output/chtml/fonts/ next to the script
MATHJAX = NpmPackage("mathjax", "3.2.2",
                     "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
                     {"package/es5/tex-mml-chtml.js": "mathjax/tex-mml-chtml.js",
                      "package/es5/output/chtml/fonts/woff-v2/": "mathjax/output/chtml/fonts/woff-v2/",
                      "package/LICENSE": "mathjax/LICENSE"})
PACKAGES = (MERMAID, MATHJAX)


def _fetch(pkg: NpmPackage) -> None:
    """Download ``pkg``'s tarball with npm, check its integrity, extract the files we serve."""
    if pkg.folder.is_dir():
        return
    if shutil.which("npm") is None:
        raise RuntimeError(f"the docs serve {pkg.name} from the site itself and fetch it with npm "
                           "at build time: install Node.js and npm")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", f"{pkg.name}@{pkg.version}",
                        "--pack-destination", tmp], check=True, capture_output=True)
        tarball = next(Path(tmp).glob("*.tgz"))
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != pkg.integrity:
            raise RuntimeError(f"{pkg.name}@{pkg.version}: tarball integrity {digest} is not the "
                               f"pinned {pkg.integrity}")
        staging = Path(tmp) / "out"
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                for src, dest in pkg.files.items():
                    if member.isfile() and (member.name == src or
                                            src.endswith("/") and member.name.startswith(src)):
                        target = staging / (dest + member.name[len(src):] if src.endswith("/")
                                            else dest)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(tar.extractfile(member).read())
        pkg.folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging, pkg.folder)   # whole or not at all: a failed fetch leaves no folder


def on_pre_build(config) -> None:
    for pkg in PACKAGES:
        _fetch(pkg)


def on_post_build(config) -> None:
    site = Path(config["site_dir"]) / VENDOR
    for pkg in PACKAGES:
        shutil.copytree(pkg.folder, site, dirs_exist_ok=True)


def _scripts(page, names: list[str]) -> str:
    return "".join(f'<script src="{get_relative_url(name, page.url)}"></script>' for name in names)


_BUNDLE = re.compile(r'<script src="[^"]*assets/javascripts/bundle\.[0-9a-f]+\.min\.js"></script>')




def on_post_page(output: str, page, config) -> str:
    """Relative language links; mermaid before Material's bundle (which looks for a global
    ``mermaid`` and only then falls back to a CDN); MathJax's settings after it (they subscribe
    to its ``document$``), then MathJax itself."""
    output = _relative_language_links(output, page, config)
    before, after = [], []
    if 'class="mermaid"' in output:
        before.append(f"{VENDOR}/mermaid/mermaid.min.js")
    if 'class="arithmatex"' in output:
        after += ["javascripts/mathjax.js", f"{VENDOR}/mathjax/tex-mml-chtml.js"]
    if not before and not after:
        return output
    bundle = _BUNDLE.search(output)
    if bundle is None:
        raise RuntimeError(f"{page.file.src_path}: Material's script tag not found")
    return (output[:bundle.start()] + _scripts(page, before) + bundle.group(0)
            + _scripts(page, after) + output[bundle.end():])


def _relative_language_links(output: str, page, config) -> str:
    """The i18n plugin links the languages' home pages as absolute paths ("/", "/zh/", under
    ``site_url``'s path when it has one), which break when the site is served from anywhere
    else, e.g. from files: make them relative."""
    root = urlsplit(config["site_url"] or "/").path.rstrip("/") + "/"
    home = re.compile(rf'href="{re.escape(root)}([^"]*)"(?= hreflang=)')
    return home.sub(lambda m: f'href="{get_relative_url(m.group(1) or ".", page.url)}"', output)
