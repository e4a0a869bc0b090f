"""The docs say what is: every repository path they name exists, the CLI guide lists
exactly the options the commands take, CI runs the README's two commands as written, and
the getting-started script and the Polars claim hold (issue 23 item 6)."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

import milekit
from milekit.cli import _parser
from milekit.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

#: Where a named path may live: the repository, and the package (``wire/client.py``).
BASES = (ROOT, ROOT / "milekit")
#: Top-level entries whose paths are checked (others are examples: ``lake/tasks``).
TOPS = {p.name for p in ROOT.iterdir() if not p.name.startswith(".") or p.name == ".ci"}
TOPS |= {p.name for p in (ROOT / "milekit").iterdir() if p.is_dir()}
TOPS -= {p.name for p in ROOT.glob("*.egg-info")}
#: A bare file name is checked when it is source or docs (``bench_fetch.py``, ``pagejson.c``).
SOURCE = (".py", ".pyi", ".c", ".h", ".md", ".ipynb", ".toml", ".yml", ".in", ".cfg")
#: Names the docs give to files a run writes, or to a user's own files: not in the repo.
WRITTEN = {
    "bench/results/*.json",  # the benchmarks write their results here (gitignored)
    "first.py",  # the getting-started script the reader saves
}
_SKIP = re.compile(r"://|^[/~$<.]|[{}<>=\s|]|^-")
_TOKEN = re.compile(r"`([^`\n]+)`|\]\(([^)\s#]+)")


def named_paths(text: str) -> Iterator[str]:
    """Inline-code spans and link targets that look like repository paths.

    >>> list(named_paths("see `milekit/cli.py`, [x](guides/cli.md) and `df.to_parquet`"))
    ['milekit/cli.py', 'guides/cli.md']
    """
    text = re.sub(r"^```.*?^```", _fenced_paths, text, flags=re.S | re.M)
    for m in _TOKEN.finditer(text):
        token = (m[1] or m[2]).strip().rstrip(".,:;")
        if _SKIP.search(token):
            continue
        if ("/" in token and token.split("/", 1)[0] in TOPS) or token.endswith(SOURCE):
            yield token


def _fenced_paths(block: re.Match[str]) -> str:
    """A code block's words that start with a top-level directory, as inline code."""
    words = re.findall(r"(?<![\w/.-])([\w.-]+/[\w./*-]+)", block[0])
    return " ".join(f"`{w}`" for w in words if w.split("/", 1)[0] in TOPS)


def exists(token: str, page: Path) -> bool:
    if "/" not in token:  # a bare file name: somewhere in the repository
        return token in _tracked_names()
    for base in (*BASES, page.parent):
        for candidate in (token, token + ".py"):
            if ("*" in candidate and any(base.glob(candidate))) or (base / candidate).exists():
                return True
    return False


@functools.cache
def _tracked_names() -> dict[str, list[str]]:
    """Each tracked file's name -> its paths (``git ls-files``)."""
    names: dict[str, list[str]] = {}
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    for line in files.stdout.splitlines():
        names.setdefault(line.rsplit("/", 1)[-1], []).append(line)
    return names


def test_every_repository_path_named_in_the_docs_exists() -> None:
    missing = [
        f"{page.relative_to(ROOT)}: {token}"
        for page in DOCS
        for token in sorted(set(named_paths(page.read_text())))
        if token not in WRITTEN and not exists(token, page)
    ]
    assert not missing, "paths the docs name that do not exist:\n" + "\n".join(missing)


#: ``milekit.*`` names the docs use for metadata keys, not for Python objects.
METADATA = {"milekit.attrs", "milekit.resource"}


def _resolves(dotted: str) -> bool:
    """A module, or an attribute of the longest importable module prefix."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_milekit_name_in_the_docs_resolves() -> None:
    """``milekit.wire.errors`` after a module moved is a stale path too."""
    names = {
        (page.relative_to(ROOT), m[0].rstrip("."))
        for page in DOCS
        for m in re.finditer(r"(?<![\w./-])milekit(?:\.[A-Za-z_]\w*)+", page.read_text())
    }
    stale = sorted(f"{page}: {name}" for page, name in names
                   if name not in METADATA and not _resolves(name))  # fmt: skip
    assert not stale, "names the docs use that milekit does not have:\n" + "\n".join(stale)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {
        o
        for a in parser._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction)
        for o in a.option_strings
    }


def _guide_sections() -> dict[str, str]:
    """``## `milekit export ...``` heading -> its text, from the CLI guide."""
    text = (ROOT / "docs" / "guides" / "cli.md").read_text()
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_cli_guide_lists_every_option_of_every_command() -> None:
    parser = _parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    commands: dict[str, argparse.ArgumentParser] = {"": parser, **sub.choices}
    seen: set[str] = set()
    for heading, body in _guide_sections().items():
        names = re.findall(r"`([^`]+)`", heading)
        cmds = [n.split()[1] if len(n.split()) > 1 else "" for n in names[:1]] + names[1:]
        listed = {
            o
            for row in re.findall(r"^\| (`-[^|]+)\|", body, flags=re.M)
            for o in re.findall(r"`(-[\w-]+)", row)
        }
        wanted = set().union(*(_options(commands[c]) for c in cmds))
        assert listed == wanted, (heading, sorted(wanted - listed), sorted(listed - wanted))
        seen.update(cmds)
    assert seen == set(commands), sorted(set(commands) - seen)


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert block is not None
    return block[1].strip().splitlines()


def test_ci_runs_the_readmes_two_commands_as_written() -> None:
    first, second = _readme_commands()
    assert first.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install")
    assert first.endswith("milekit demo") and second.endswith("pytest")
    assert ". .venv/bin/activate" in second and '".[test]"' in second
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    code = [line for line in ci if not line.lstrip().startswith("#")]
    for command in (first, second):
        assert any(command in line for line in code), command
    docs_index = (ROOT / "docs" / "index.md").read_text()
    assert f"```bash\n{first}\n{second}\n```" in docs_index  # the same on the site


def test_the_getting_started_script_runs_against_the_sandbox(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    text = (ROOT / "docs" / "index.md").read_text()
    script = re.search(r"Save this as `first.py`:\n\n```python\n(.*?)```", text, flags=re.S)
    assert script is not None
    (tmp_path / "first.py").write_text(script[1])
    console = re.search(r"\$ milekit sandbox\n(.*?)\n(.*?)\n```", text)
    assert console is not None and "8765/api/v3" in console[1]
    defaults = _parser().parse_args(["sandbox"])
    assert f"token: {defaults.token} " in console[2] and defaults.port == 8765
    assert f"MILEAPP_TOKEN={defaults.token}" in text and "MILEAPP_BASE_URL=http://127" in text
    env = dict(os.environ, MILEAPP_BASE_URL=sandbox.url, MILEAPP_TOKEN=sandbox.token)
    out = subprocess.run(
        [sys.executable, "first.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.match(r"\d+ done tasks\n", out.stdout)


def test_a_polars_resave_loses_milekits_types_and_to_parquet_keeps_them(
    client: milekit.Client, tmp_path: Path
) -> None:
    """What docs/guides/exporting.md says of files re-saved by Polars."""
    path = milekit.export("tasks", tmp_path / "t.parquet", client=client, progress=False).path
    df = milekit.read_parquet(path)
    pl.read_parquet(path).write_parquet(tmp_path / "polars.parquet")
    resaved = milekit.read_parquet(tmp_path / "polars.parquet")
    assert "_id" in resaved.columns and not resaved.attrs  # the index and attrs are gone
    milekit.to_parquet(pl.read_parquet(path), tmp_path / "m.parquet", resource="tasks")
    pd.testing.assert_frame_equal(milekit.read_parquet(tmp_path / "m.parquet"), df)
    assert (
        'milekit.to_parquet(pl_df, path, resource="tasks")'
        in (ROOT / "docs" / "guides" / "exporting.md").read_text()
    )


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
