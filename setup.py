"""The C part of milekit; everything else is declared in pyproject.toml.

The page decoder (``milekit.types._pagejson``, with yyjson vendored, MIT) turns a list
page's JSON straight into Arrow columns, about twice as fast as Arrow's own JSON reader
(``bench/bench_outputs.py``). It is optional: on a machine without a C compiler the install
goes on without it, and pages take Arrow's reader (same frames, more CPU); this script then
says so on stderr (``pip install -v`` shows it) and ``milekit.types.schema.native_status()``
tells why at run time. yyjson lives in ``vendor/yyjson/`` (its PROVENANCE.md: upstream,
version, checksums, how to update).

The module uses only the limited C API of Python 3.11 (``Py_LIMITED_API``), so one wheel,
tagged ``cp311-abi3``, serves every CPython from 3.11 on (docs/release.md). Free-threaded
builds (3.13t) have no limited API: there it is built for the one version. On Linux the
module is linked stripped (``-s``): the debug symbols were 60% of the wheel.
"""

import glob
import os
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NATIVE = "milekit/types/native"
YYJSON = "vendor/yyjson"
LIMITED = not sysconfig.get_config_var("Py_GIL_DISABLED")

FALLBACK = """
************************************************************************************
milekit: the C page decoder (milekit.types._pagejson) was NOT built:
    {error}
milekit still installs and reads the same frames, through Arrow's JSON reader, at about
twice the CPU. To have the decoder, install a wheel (pip install --only-binary=milekit
milekit) or a C compiler (Debian: apt install gcc libc6-dev) and reinstall.
milekit.types.schema.native_status() tells whether the decoder is active.
************************************************************************************
"""


class OptionalBuildExt(build_ext):
    """``build_ext`` that goes on without the decoder, loudly: ``optional=True`` only logs.

    >>> issubclass(OptionalBuildExt, build_ext)
    True
    """

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:  # any failure: no compiler, no Python.h, a bad flag ...
            print(FALLBACK.format(error=error), file=sys.stderr, flush=True)
            stale = self.get_ext_fullpath(ext.name)  # an earlier build's, in build/
            if os.path.exists(stale):
                os.remove(stale)

    def copy_extensions_to_source(self) -> None:
        """``pip install -e`` (in place): first drops the module's other builds from the
        tree. A ``_pagejson.cpython-311-*.so`` of an older checkout would shadow the new
        ``_pagejson.abi3.so`` (Python tries the version's suffix first); after a failed
        build none is left, so a stale module cannot pass for the current sources."""
        build_py = self.get_finalized_command("build_py")
        for ext in self.extensions:
            inplace, built = self._get_inplace_equivalent(build_py, ext)
            keep = inplace if os.path.exists(built) else None
            stem = os.path.join(os.path.dirname(inplace), ext.name.rpartition(".")[2])
            for old in glob.glob(f"{stem}.*"):
                if old != keep and old.endswith((".so", ".pyd")):
                    print(f"milekit: removing {old}, a stale build", file=sys.stderr)
                    os.remove(old)
        super().copy_extensions_to_source()


setup(
    cmdclass={"build_ext": OptionalBuildExt},
    ext_modules=[
        Extension(
            "milekit.types._pagejson",
            sources=[f"{NATIVE}/pagejson.c", f"{YYJSON}/yyjson.c"],
            include_dirs=[NATIVE, YYJSON],
            depends=[f"{YYJSON}/yyjson.h"],
            define_macros=[("Py_LIMITED_API", "0x030B0000")] if LIMITED else [],
            py_limited_api=LIMITED,
            optional=True,  # OptionalBuildExt says why; the editable install goes on too
            extra_link_args=["-s"] if sys.platform.startswith("linux") else [],
        )
    ],
    options={"bdist_wheel": {"py_limited_api": "cp311"}} if LIMITED else {},
)
