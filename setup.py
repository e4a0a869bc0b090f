"""The C part of milekit; everything else is declared in pyproject.toml.

The page decoder (``milekit.types._pagejson``, with yyjson vendored, MIT) turns a list
page's JSON straight into Arrow columns, about twice as fast as Arrow's own JSON reader
(``bench/bench_outputs.py``). It is optional: on a machine without a C compiler the install
goes on without it, and pages take Arrow's reader (same frames, more CPU). yyjson lives
in ``vendor/yyjson/`` (its PROVENANCE.md: upstream, version, checksums, how to update).
"""

from setuptools import Extension, setup

NATIVE = "milekit/types/native"
YYJSON = "vendor/yyjson"

setup(
    ext_modules=[
        Extension(
            "milekit.types._pagejson",
            sources=[f"{NATIVE}/pagejson.c", f"{YYJSON}/yyjson.c"],
            include_dirs=[NATIVE, YYJSON],
            depends=[f"{YYJSON}/yyjson.h"],
            optional=True,
        )
    ]
)
