"""The project's own rules, checked by the test command (notes cited, the public surface,
short functions, one warning base, the licence); ruff, mypy --strict and repeated code are
``scripts/check``'s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import milekit

ROOT = Path(__file__).resolve().parent.parent


def test_every_cited_api_note_exists() -> None:
    """Code cites the project's own notes on the API as "note N" (docs/api-notes.md);
    each cited number must be a note there."""
    import re

    notes = (ROOT / "docs" / "api-notes.md").read_text()
    defined = {int(n) for n in re.findall(r"^\*\*Note (\d+) ", notes, re.M)}
    assert defined == set(range(1, max(defined) + 1)), "notes are numbered 1..N"
    cited: dict[int, str] = {}
    for folder in ("milekit", "tools", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for m in re.finditer(r"\bnotes? (\d+)(?:(?:, | and )(\d+))*", path.read_text()):
                for n in re.findall(r"\d+", m.group(0)):
                    cited.setdefault(int(n), str(path.relative_to(ROOT)))
    missing = {n: where for n, where in cited.items() if n not in defined}
    assert not missing, f"cited notes that docs/api-notes.md does not have: {missing}"
    # a document the package's users do not have (a section sign, a "Quirk") is not cited
    stray = [
        str(path.relative_to(ROOT))
        for folder in ("milekit", "tools", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if re.search(r"§\s?\d|\bQuirks? \d|mileapp-api\.md", path.read_text())
    ]
    assert not stray, f"citations that do not resolve inside the repository: {stray}"


def test_the_public_surface_is_pinned_and_documented() -> None:
    """``milekit.__all__`` is exactly what docs/public-api.md lists (the first column of
    its tables and its lists of named helpers), and every name of it imports."""
    import re

    import milekit

    documented: list[str] = []
    for line in (ROOT / "docs" / "public-api.md").read_text().splitlines():
        if line.startswith("| `"):
            documented += re.findall(r"`(\w+)", line.split("|")[1])
        elif line.startswith("`"):
            documented += re.findall(r"`(\w+)`", line)
    assert sorted(documented) == sorted(set(documented)), "a name is listed twice"
    assert sorted(documented) == sorted(milekit.__all__)
    for name in milekit.__all__:
        assert getattr(milekit, name) is not None, name


#: functions that are data tables (a literal list of the demo org's rows), not logic
_DATA_TABLES = {("sandbox/seed/flows.py", "_automation_specs")}
_MAX_LINES = 60


def test_no_function_is_longer_than_about_sixty_lines() -> None:
    """Short functions, docstrings not counted; generated modules and data tables aside."""
    import ast

    import milekit

    root = Path(milekit.__file__).parent
    long: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ("types/_generated.py", "reads/named.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            first = node.body[0]
            doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
            lines -= (first.end_lineno - first.lineno + 1) if doc else 0  # type: ignore[operator]
            if lines > _MAX_LINES and (rel, node.name) not in _DATA_TABLES:
                long.append(f"{rel}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_every_warning_milekit_gives_shares_one_base() -> None:
    """One ``filterwarnings(..., category=milekit.MileWarning)`` covers them all."""
    import importlib
    import inspect
    import pkgutil

    found = []
    for info in pkgutil.walk_packages(milekit.__path__, "milekit."):
        if ".sandbox" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Warning) and cls.__module__.startswith("milekit"):
                found.append(cls)
    assert len(set(found)) >= 4
    assert all(issubclass(cls, milekit.MileWarning) for cls in found), found


def test_python_dash_m_milekit_is_the_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "milekit", "export", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "usage: milekit export" in out.stdout, out.stderr


def test_the_declared_license_ships_and_the_build_backend_understands_it() -> None:
    """``license = "MIT"`` (an SPDX expression) needs setuptools 77; the text must ship."""
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    # milekit's own, and yyjson's (MIT), vendored for the C page decoder
    licenses = meta["project"]["license-files"]
    assert licenses == ["LICENSE", "vendor/yyjson/LICENSE"]
    assert "Permission is hereby granted" in (ROOT / licenses[1]).read_text()
    assert "setuptools>=77" in meta["build-system"]["requires"]
