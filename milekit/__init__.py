"""milekit: the MileApp API as typed pandas DataFrames, and back.

>>> import milekit
>>> with milekit.Sandbox(tasks=50) as sb:                      # an offline MileApp
...     _ = milekit.use(milekit.Client(sb.token, sb.url))
...     df = milekit.tasks_frame(progress=False)
...     _ = milekit.use(None)
>>> len(df), df.index.name, str(df["createdTime"].dtype)
(50, '_id', 'datetime64[us, UTC]')
"""

from typing import TYPE_CHECKING, Any

from milekit._named_frames import *  # noqa: F403  (the named helpers: hubs_frame() ...)
from milekit._named_frames import CHILD_HELPERS, RESOURCE_HELPERS, VIEW_HELPERS
from milekit._version import __version__
from milekit.children import child_frame, children
from milekit.client import Client, RetryPolicy
from milekit.context import get_client, use
from milekit.diff import diff
from milekit.errors import IncompleteReadError, MileError
from milekit.export import ExportResult, export, read_csv, read_parquet, to_parquet
from milekit.flat import flatten, unflatten
from milekit.frames import custom_columns, flow_columns, frame
from milekit.push import PushInterrupted, PushResult, PushValidationError, push
from milekit.ratelimit import RateLimiter
from milekit.signin import Identity, login, logout, whoami
from milekit.views import get, view

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
    "MileError",
    "PushInterrupted",
    "PushResult",
    "PushValidationError",
    "RateLimiter",
    "RetryPolicy",
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
    "read_parquet",
    "to_parquet",
    "unflatten",
    "use",
    "view",
    "whoami",
    *RESOURCE_HELPERS,
    *CHILD_HELPERS,
    *VIEW_HELPERS,
]
