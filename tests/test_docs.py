"""The documentation site builds with ``mkdocs build --strict``: a broken link, a missing
page or an API reference that no longer resolves fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_docs_site_builds_strictly(tmp_path: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    site = tmp_path / "site"
    for page in ("index.html", "guides/scaling/index.html", "reference/files/index.html"):
        assert (site / page).is_file(), page
    reference = (site / "reference" / "files" / "index.html").read_text()
    assert "milekit.files.lake.sync" in reference and "to_excel" in reference


def test_the_readme_fits_a_newcomer() -> None:
    """What it is, the two quickstart commands, one example, links: one screen or so."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 80
    assert text.count("```bash") == 1 and "milekit demo" in text and "pytest" in text
    assert "docs/guides/" in text
