"""What a bug report needs: milekit's, Python's and the dependencies' versions, the page
decoder, the rate limiter, where tokens go, the config and cache paths.

>>> text = versions_text()
>>> text.splitlines()[0].startswith("milekit "), "C page decoder" in text
(True, True)

``milekit.show_versions()`` prints it, as ``milekit --version --verbose`` does. No token
is ever part of it: the token is not read (a remembered profile's limiter setting is read
without it), and a ``redis://`` URL is shown without its password.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from milekit._version import __version__
from milekit.types.schema import native_status
from milekit.wire import credentials
from milekit.wire.context import current_client
from milekit.wire.ratelimit import LIMITER_ENV, cache_dir, redact_url

#: the core's packages (pyproject.toml's dependencies), by distribution name
CORE = (
    "pandas",
    "pyarrow",
    "numpy",
    "requests",
    "requests-ratelimiter",
    "pyrate-limiter",
    "filelock",
    "platformdirs",
    "orjson",
    "tqdm",
)
#: each extra's packages: installed or not, a feature needs them only when used
EXTRAS = (
    ("ipywidgets", "notebook"),
    ("openpyxl", "excel"),
    ("redis", "redis"),
    ("keyring", "keyring"),
)

#: the one line a run with the slower parser shows (``milekit demo``, show_versions)
SLOWER = "pages take Arrow's JSON reader instead: the same frames, about 2x the CPU"


def version_of(dist: str) -> str | None:
    """The installed version of distribution ``dist``, or None.

    >>> version_of("pandas") is not None, version_of("no-such-distribution-here")
    (True, None)
    """
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def decoder_line() -> str:
    """Whether pages go through the C page decoder, and if not, why and what it costs.

    >>> decoder_line().startswith(("active", "not active"))
    True
    """
    active, why = native_status()
    return "active" if active else f"not active: {why}; {SLOWER}"


def limiter_line() -> str:
    """The rate limiter in use: the default client's, else what a new client would take
    (``MILEKIT_LIMITER``, else the profile's setting, else ``shared``)."""
    client = current_client()
    if client is not None:
        return f"{client.limiter!r} (the default client's)"
    env = os.environ.get(LIMITER_ENV, "").strip()
    if env:
        return f"{redact_url(env)} ({LIMITER_ENV}; no default client yet)"
    try:
        setting = credentials.CredentialStore().limiter_setting()
    except Exception as e:  # an unsafe credentials file is reported, not raised
        return f"shared, unless the profile says otherwise ({type(e).__name__})"
    if setting:
        name = credentials.profile_name()
        return f"{redact_url(setting)} (profile {name!r}'s setting; no default client yet)"
    return "shared (the default; no default client yet)"


def versions_text() -> str:
    """The report :func:`show_versions` prints."""
    lines = [
        f"milekit {__version__}",
        f"Python {platform.python_version()} ({platform.python_implementation()}, "
        f"{sys.executable})",
        f"platform {platform.platform()} ({platform.machine()})",
        "",
        "dependencies:",
        *(f"  {d:<22}{version_of(d) or 'not installed'}" for d in CORE),
        "extras:",
        *(f"  {d:<22}{_extra(d, x)}" for d, x in EXTRAS),
        "",
        f"C page decoder: {decoder_line()}",
        f"rate limiter: {limiter_line()}",
        f"tokens go to: {credentials.keyring_status()}",
        f"config: {credentials.config_dir()}",
        f"cache: {cache_dir()}",
    ]
    return "\n".join(lines)


def _extra(dist: str, extra: str) -> str:
    version = version_of(dist)
    return (
        f"{version}  [{extra}]" if version else f'not installed  (pip install "milekit[{extra}]")'
    )


def show_versions() -> None:
    """Print what a bug report needs: versions, the page decoder, the limiter, the paths.

    >>> show_versions()  # doctest: +ELLIPSIS
    milekit ...
    Python ...
    """
    print(versions_text())
