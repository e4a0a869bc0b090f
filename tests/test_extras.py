"""A lean core and named extras: with only the core, ``import milekit``, a read, an export
to Parquet/CSV, a push and the sandbox work; each feature of an extra, used without it,
raises one line naming the ``pip install "milekit[...]"`` to run.

An extra's absence is simulated in a subprocess: ``sys.modules[name] = None`` before
milekit is imported makes ``import name`` raise ImportError, as if it were not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXTRAS = ("ipywidgets", "openpyxl", "redis", "keyring")


def run(*code: str, blocked: tuple[str, ...] = EXTRAS, **env: str) -> list[str]:
    """Run the parts of ``code`` in a fresh interpreter without ``blocked``; its stdout's
    lines."""
    head = f"import sys\nfor _n in {blocked!r}:\n    sys.modules[_n] = None\n"
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", head + "".join(map(textwrap.dedent, code))],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **env},
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


_HINT = """
def hint(call):
    try:
        call()
    except milekit.errors.MissingExtraError as e:
        assert isinstance(e, ImportError) and "\\n" not in str(e), repr(e)
        print(f"{type(e).__name__}: {e}")
    else:
        print("no error")
"""


def test_the_core_reads_exports_pushes_and_serves_the_sandbox(tmp_path: Path) -> None:
    lines = run(
        f"""
        import milekit
        with milekit.Sandbox(tasks=40) as sb, milekit.Client(sb.token, sb.url) as c:
            df = milekit.tasks_frame(client=c, progress=True)  # a text bar, if anyone watches
            a = milekit.export("tasks", r"{tmp_path}/t.parquet", client=c, progress=False)
            b = milekit.export("tasks", r"{tmp_path}/t.csv", client=c, progress=False)
            df.loc[df["flow"] == "Pickup", "label"] = "Return"
            result = milekit.push(df, client=c, progress=False)
        print(len(df), a.rows, b.rows, result.ok)
        print(sorted(m for m in {EXTRAS!r} if sys.modules.get(m) is not None))
        """
    )
    assert lines == ["40 40 40 True", "[]"]


def test_each_extra_missing_is_a_one_line_hint(tmp_path: Path) -> None:
    lines = run(
        _HINT,
        f"""
        import os
        import milekit
        from milekit.wire.credentials import CredentialStore
        from milekit.wire.auth import Secret
        import pandas as pd
        hint(lambda: milekit.to_excel(pd.DataFrame({{"a": [1]}}), r"{tmp_path}/x.xlsx"))
        hint(lambda: milekit.export("tasks", r"{tmp_path}/x.xlsx", client=milekit.Client(
            "t0ken-123", "http://127.0.0.1:9/api/v3", limiter=None)))
        hint(lambda: milekit.read_excel(r"{tmp_path}/x.xlsx"))
        hint(lambda: milekit.Client("t0ken-123", "http://127.0.0.1:9/api/v3",
                                    limiter="redis://127.0.0.1:6379/0"))
        os.environ["MILEKIT_CREDENTIALS"] = "keyring"
        hint(lambda: CredentialStore(r"{tmp_path}").save("p", Secret("t0ken-123"), None))
        from milekit.notebook.signin import LoginForm
        hint(LoginForm)
        """,
    )
    assert lines == [
        'MissingExtraError: milekit.to_excel needs openpyxl: pip install "milekit[excel]"',
        'MissingExtraError: milekit.export to .xlsx needs openpyxl: pip install "milekit[excel]"',
        'MissingExtraError: milekit.read_excel needs openpyxl: pip install "milekit[excel]"',
        'MissingExtraError: Client(limiter="redis://...") needs redis: '
        'pip install "milekit[redis]"',
        "MissingExtraError: MILEKIT_CREDENTIALS=keyring needs keyring: "
        'pip install "milekit[keyring]"',
        "MissingExtraError: the notebook sign-in form needs ipywidgets: "
        'pip install "milekit[notebook]"',
    ]
    assert not (tmp_path / "x.xlsx").exists()


def test_without_keyring_tokens_go_to_the_file(tmp_path: Path) -> None:
    lines = run(
        f"""
        from milekit.wire.credentials import CredentialStore, keyring_status
        from milekit.wire.auth import Secret
        store = CredentialStore(r"{tmp_path}")
        print(store.save("p", Secret("t0ken-123"), None) is not None, store.backend())
        print(keyring_status())
        """,
        MILEKIT_CREDENTIALS="",
    )
    assert lines == [
        "True file",
        'the file (keyring not installed: pip install "milekit[keyring]")',
    ]


def test_the_sandbox_answers_501_for_xlsx_without_openpyxl() -> None:
    lines = run(
        """
        import requests
        import milekit
        with milekit.Sandbox(tasks=5) as sb:
            h = {"Authorization": f"Bearer {sb.token}", "Accept": "application/json"}
            r = requests.post(sb.url + "/tasks/export", json={"download": "xlsx"}, headers=h)
            j = requests.post(sb.url + "/tasks/export", json={"download": "json"}, headers=h)
        print(r.status_code, r.json()["message"])
        print(j.status_code)
        """
    )
    assert lines == [
        '501 the sandbox\'s .xlsx support needs openpyxl: pip install "milekit[excel]"',
        "200",
    ]


_KERNEL = """
import types
class Shell:
    config = {"IPKernelApp": {}}
sys.modules["IPython"] = types.SimpleNamespace(get_ipython=lambda: Shell())
"""


def test_a_notebook_without_ipywidgets_gets_the_text_bar_and_the_hint() -> None:
    """In a Jupyter kernel without ipywidgets: bars fall back to text, silently (no
    tqdm warning: the run has -W error); login() without a token names the extra."""
    lines = run(
        _KERNEL,
        _HINT,
        """
        import milekit
        from milekit.notebook import progress
        print(progress.in_kernel(), progress.in_notebook())
        print(type(progress.new_bar("x", " rows")).__module__)
        hint(milekit.login)
        """,
    )
    assert lines == [
        "True False",
        "tqdm.std",
        "MissingExtraError: milekit.login() in a notebook needs ipywidgets: "
        'pip install "milekit[notebook]"',
    ]


def test_the_error_pickles_and_is_an_import_error() -> None:
    import pickle

    from milekit.errors import MileError, MissingExtraError

    e = MissingExtraError("milekit.to_excel", "openpyxl", "excel")
    back = pickle.loads(pickle.dumps(e))
    assert isinstance(back, ImportError) and isinstance(back, MileError)
    assert (back.feature, back.module, back.extra, back.name, str(back)) == (
        "milekit.to_excel",
        "openpyxl",
        "excel",
        "openpyxl",
        'milekit.to_excel needs openpyxl: pip install "milekit[excel]"',
    )


@pytest.mark.parametrize("extra", ["notebook", "excel", "redis", "keyring"])
def test_pyproject_names_each_extra_and_all(extra: str) -> None:
    import tomllib

    project = tomllib.loads(
        (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    )["project"]
    optional = project["optional-dependencies"]
    core = " ".join(project["dependencies"])
    assert extra in optional and extra in optional["all"][0]
    assert not any(dep.split(">")[0] in core for dep in optional[extra])
    assert "milekit[all]" in optional["test"]
