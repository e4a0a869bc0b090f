"""milekit: the MileApp API as typed pandas DataFrames, and back.

>>> import milekit
>>> with milekit.Sandbox(tasks=50) as sb:                      # an offline MileApp
...     _ = milekit.use(milekit.Client(sb.token, sb.url))
...     df = milekit.tasks_frame(progress=False)
...     _ = milekit.use(None)
>>> len(df), df.index.name, str(df["createdTime"].dtype)
(50, '_id', 'datetime64[us, UTC]')

The package is layered: ``milekit.wire`` (the Client, the limiter, the token, errors,
envelopes), ``milekit.types`` (the registry, API types to Arrow/pandas, the API's JSON),
``milekit.reads`` (frames, objects, views, child tables), ``milekit.writes`` (diff, push),
``milekit.files`` (Parquet/CSV), ``milekit.notebook`` (sign-in, progress bars) and
``milekit.sandbox`` (the emulator). ``milekit.errors`` and ``milekit.registry`` are the
stable names of the error tree and the registry.
"""

from typing import TYPE_CHECKING, Any

from milekit import errors as errors
from milekit import registry as registry
from milekit._version import __version__
from milekit.errors import IncompleteReadError, MileError, MileWarning
from milekit.files.excel import to_excel
from milekit.files.excel_read import read_excel
from milekit.files.export import ExportResult, export, read_csv, read_parquet, to_parquet
from milekit.files.lake import LakeError, SyncResult, read_lake, sync
from milekit.notebook.signin import Identity, login, logout, whoami
from milekit.reads.children import child_frame, children
from milekit.reads.flat import flatten, unflatten
from milekit.reads.frames import custom_columns, flow_columns, frame
from milekit.reads.named import *  # noqa: F403  (the named helpers: hubs_frame() ...)
from milekit.reads.named import CHILD_HELPERS, RESOURCE_HELPERS, TABLE_HELPERS, VIEW_HELPERS
from milekit.reads.objects import get
from milekit.reads.views import view
from milekit.wire.client import Client
from milekit.wire.context import get_client, use
from milekit.wire.ratelimit import RateLimiter
from milekit.wire.retry import RetryPolicy
from milekit.writes.diff import diff
from milekit.writes.push import PushInterrupted, PushResult, PushValidationError, push

if TYPE_CHECKING:
    from milekit.sandbox import Sandbox


def __getattr__(name: str) -> Any:
    if name == "Sandbox":  # imported on first use: the emulator is not needed to talk to MileApp
        from milekit.sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module 'milekit' has no attribute {name!r}")


__all__ = [
    "Client",
    "ExportResult",
    "Identity",
    "IncompleteReadError",
    "LakeError",
    "MileError",
    "MileWarning",
    "PushInterrupted",
    "PushResult",
    "PushValidationError",
    "RateLimiter",
    "RetryPolicy",
    "SyncResult",
    "Sandbox",
    "__version__",
    "child_frame",
    "children",
    "custom_columns",
    "diff",
    "export",
    "flatten",
    "flow_columns",
    "frame",
    "get",
    "get_client",
    "login",
    "logout",
    "push",
    "read_csv",
    "read_lake",
    "read_excel",
    "read_parquet",
    "sync",
    "to_excel",
    "to_parquet",
    "unflatten",
    "use",
    "view",
    "whoami",
    *RESOURCE_HELPERS,
    *CHILD_HELPERS,
    *VIEW_HELPERS,
    *TABLE_HELPERS,
]
