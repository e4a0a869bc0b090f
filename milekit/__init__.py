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
from milekit._version import __version__ as __version__
from milekit.errors import (
    IncompleteReadError as IncompleteReadError,
)
from milekit.errors import (
    MileError,
)
from milekit.errors import (
    MileWarning as MileWarning,
)
from milekit.files.delta_lake import LakeConflictError as LakeConflictError
from milekit.files.excel import to_excel
from milekit.files.excel_read import read_excel
from milekit.files.export import (
    ExportResult as ExportResult,
)
from milekit.files.export import (
    export,
    read_csv,
    read_parquet,
    to_parquet,
)
from milekit.files.lake import LakeError as LakeError
from milekit.files.lake import SyncResult as SyncResult
from milekit.files.lakes import lake_history, read_lake, sync
from milekit.notebook.signin import Identity as Identity
from milekit.notebook.signin import login
from milekit.notebook.signin import logout as logout
from milekit.notebook.signin import whoami as whoami
from milekit.reads.children import children
from milekit.reads.dispatch import child_frame as child_frame
from milekit.reads.dispatch import frame
from milekit.reads.dispatch import view as view
from milekit.reads.flat import flatten as flatten
from milekit.reads.flat import unflatten as unflatten
from milekit.reads.frames import custom_columns as custom_columns
from milekit.reads.frames import flow_columns
from milekit.reads.named import *  # noqa: F403  (the named helpers: hubs_frame() ...)
from milekit.reads.named import HELPERS
from milekit.reads.objects import get
from milekit.versions import show_versions as show_versions
from milekit.wire.client import Client
from milekit.wire.context import get_client as get_client
from milekit.wire.context import use
from milekit.wire.ratelimit import RateLimiter
from milekit.wire.retry import RetryPolicy
from milekit.writes.diff import diff
from milekit.writes.push import (
    PushInterrupted as PushInterrupted,
)
from milekit.writes.push import (
    PushResult as PushResult,
)
from milekit.writes.push import (
    PushValidationError as PushValidationError,
)
from milekit.writes.push import (
    push,
)

if TYPE_CHECKING:
    from milekit.sandbox import Sandbox


def __getattr__(name: str) -> Any:
    if name == "Sandbox":  # imported on first use: the emulator is not needed to talk to MileApp
        from milekit.sandbox import Sandbox

        return Sandbox
    raise AttributeError(f"module 'milekit' has no attribute {name!r}")


#: what ``from milekit import *`` gives and docs/public-api.md pins: the names a user needs,
#: then the generated helpers (tools/gen_frames.py lists them). The other names imported
#: above stay importable (``milekit.PushResult``, ``milekit.view`` ...), outside ``__all__``.
__all__ = [
    "Client",
    "MileError",
    "RateLimiter",
    "RetryPolicy",
    "Sandbox",
    "children",
    "diff",
    "errors",
    "export",
    "flow_columns",
    "frame",
    "get",
    "lake_history",
    "login",
    "push",
    "read_csv",
    "read_excel",
    "read_lake",
    "read_parquet",
    "sync",
    "to_excel",
    "to_parquet",
    "use",
    *HELPERS,
]
