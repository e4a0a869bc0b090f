"""The documentation site builds with ``mkdocs build --strict``: a broken link, a missing
page or an API reference that no longer resolves fails here; no raw Sphinx role
(``:func:`...```) reaches a page, and the docs build's own code is not published."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|exc|data|obj|const):(?:`|<code>)")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out_dir = tmp_path_factory.mktemp("docs") / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out_dir)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return out_dir


def test_the_docs_site_builds_strictly(site: Path) -> None:
    for page in ("index.html", "guides/scaling/index.html", "reference/files/index.html"):
        assert (site / page).is_file(), page
    reference = (site / "reference" / "files" / "index.html").read_text()
    assert "milekit.files.lakes.sync" in reference and "to_excel" in reference


def test_no_raw_sphinx_role_reaches_the_site(site: Path) -> None:
    raw = sorted(
        f"{page.relative_to(site)}: {m[0]}"
        for page in site.rglob("*.html")
        for m in ROLE.finditer(page.read_text())
    )
    assert not raw, raw[:20]
    wire = (site / "reference" / "wire" / "index.html").read_text()
    assert 'class="autorefs autorefs-internal"' in wire  # roles became links


def test_the_docs_build_code_is_not_published(site: Path) -> None:
    assert not list(site.rglob("*.py")), "docs/griffe_doctests.py is excluded (mkdocs.yml)"


def test_the_readme_fits_a_newcomer() -> None:
    """What it is, the two quickstart commands, one example, links: one screen or so."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 80
    assert text.count("```bash") == 1 and "milekit demo" in text and "pytest" in text
    assert "docs/guides/" in text


def test_the_docs_build_extensions_examples_hold() -> None:
    """docs/ is outside pytest's doctest paths: its extension's examples run here."""
    path = ROOT / "docs" / "griffe_doctests.py"
    out = subprocess.run([sys.executable, "-m", "doctest", "-v", str(path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0 and "0 failed" in out.stdout, out.stdout[-2000:]
