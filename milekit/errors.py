"""The one error tree of milekit.

>>> from milekit.errors import NotFoundError, MileError
>>> issubclass(NotFoundError, MileError) and issubclass(NotFoundError, KeyError)
True

::

    MileError
    ├── ApiError                 the API answered with an error status
    │   ├── BadRequestError      400  (also ValueError)
    │   ├── AuthError            401
    │   ├── ForbiddenError       403
    │   ├── NotFoundError        404  (also KeyError)
    │   ├── MethodNotAllowedError 405
    │   ├── NotAcceptableError   406
    │   ├── ConflictError        409
    │   ├── PayloadTooLargeError 413
    │   ├── RateLimitError       429  (.retry_after)
    │   └── ServerError          5xx  (500, 502, 503, 504)
    ├── TransportError           no HTTP answer: refused, reset, timed out
    │   └── ConnectError         the host was never reached (refused, no such name, ...)
    ├── LimiterUnavailableError  the shared limiter's Redis cannot be used (nothing sent)
    ├── ResponseError            an answer milekit cannot read (not JSON, unknown shape)
    ├── IncompleteReadError      a read lost pages after its retries (.partial, resume=)
    ├── UsageError               bad input caught before anything is sent (also ValueError)
    │   ├── CredentialsError     the remembered sign-ins are not safe to use (file modes)
    │   └── OrgFileError         a sandbox org file is not valid (.file, .path, .expected)
    └── MissingExtraError        a feature's package is not installed (also ImportError):
                                 the message names the ``pip install "milekit[extra]"``

Every ``ApiError`` keeps the HTTP ``status``, the API's ``message`` and ``failedCode``, the
method and the URL path. None of them ever holds the token: the request's headers are not
kept, and messages are passed through :func:`milekit.redaction.redact`.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from milekit.redaction import redact, redact_json


class MileError(Exception):
    """Base of every error milekit raises."""

    def __init__(self, message: str) -> None:
        self.message = redact(message)
        super().__init__(self.message)


class MileWarning(UserWarning):
    """Base of every warning milekit gives: ``warnings.filterwarnings("ignore",
    category=milekit.MileWarning)`` silences them all, ``"error"`` turns them into
    exceptions."""


class UsageError(MileError, ValueError):
    """Bad input, detected before any request is sent."""


class CredentialsError(UsageError):
    """The remembered credentials cannot be used safely: their file or directory is open
    to other users (or belongs to another). Nothing is read from it and nothing written."""


class OrgFileError(UsageError):
    """A sandbox org file (``Sandbox(org=...)``, ``milekit sandbox --org``) is not valid.

    >>> str(OrgFileError("org.json", "$.users[0].status", "one of active, inactive", "'x'"))
    "org.json: $.users[0].status: expected one of active, inactive, got 'x'"

    ``file`` names the file (``<org mapping>`` for a dict), ``path`` the JSON path of the
    offending value (``line L column C`` for a file that is not JSON), ``expected`` what
    the format wants there.
    """

    def __init__(self, file: str, path: str, expected: str, got: str | None = None) -> None:
        self.file, self.path, self.expected = file, path, expected
        super().__init__(f"{file}: {path}: expected {expected}" + (f", got {got}" if got else ""))


class TransportError(MileError):
    """The request got no HTTP answer (connection refused/reset, timeout).

    ``sent`` tells whether the request may have reached the server: ``False`` only when
    the connection was never established, which is what makes a retry of a write safe.
    """

    def __init__(self, message: str, *, method: str = "", url: str = "", sent: bool = True):
        super().__init__(message)
        self.method = method
        self.url = redact(url)
        self.sent = sent


class ConnectError(TransportError):
    """No connection could be made to a host that has never answered this client (refused,
    a name that does not resolve, unreachable, no answer to the connection): raised after a
    few quick attempts, not after the patient retries meant for a server that went away.

    ``host`` and ``port`` say where, ``reason`` what happened, ``attempts`` and ``elapsed``
    (seconds) what was tried. Nothing was sent (``sent`` is False).

    >>> e = ConnectError("127.0.0.1", 9, "connection refused", attempts=3, elapsed=1.24)
    >>> str(e)[:54]
    'could not connect to 127.0.0.1:9 (connection refused) '
    >>> str(e)[54:]
    'after 3 attempts in 1.2 s; is the base URL right?'
    """

    def __init__(
        self,
        host: str,
        port: int,
        reason: str,
        *,
        attempts: int,
        elapsed: float,
        method: str = "",
        url: str = "",
    ) -> None:
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        tried = f"{attempts} attempt{'s' if attempts != 1 else ''} in {elapsed:.1f} s"
        super().__init__(
            f"could not connect to {where} ({reason}) after {tried}; is the base URL right?",
            method=method,
            url=url,
            sent=False,
        )
        self.host = host
        self.port = port
        self.reason = reason
        self.attempts = attempts
        self.elapsed = elapsed

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_connect,
            (self.host, self.port, self.reason, self.attempts, self.elapsed, self.method, self.url),
        )


def _rebuild_connect(
    host: str, port: int, reason: str, attempts: int, elapsed: float, method: str, url: str
) -> ConnectError:
    return ConnectError(
        host, port, reason, attempts=attempts, elapsed=elapsed, method=method, url=url
    )


class LimiterUnavailableError(MileError):
    """The configured shared rate limiter (a Redis server) cannot be used: nothing is sent,
    rather than requests paced by a limit other machines do not see."""


class MissingExtraError(MileError, ImportError):
    """A feature needs a package that comes with one of milekit's extras, and it is not
    installed: one line naming the command to run. Raised when the feature is used, never
    when milekit is imported (``import milekit`` needs only the core).

    >>> raise MissingExtraError("milekit.to_excel", "openpyxl", "excel")
    Traceback (most recent call last):
    ...
    milekit.errors.MissingExtraError: milekit.to_excel needs openpyxl: pip install "milekit[excel]"
    """

    def __init__(self, feature: str, module: str, extra: str) -> None:
        super().__init__(f'{feature} needs {module}: pip install "milekit[{extra}]"')
        self.feature = feature
        self.module = module
        self.extra = extra
        self.name = module  # ImportError's: the module that could not be imported

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.feature, self.module, self.extra))


def need(module: str, extra: str, feature: str) -> Any:
    """``module``, imported; or :class:`MissingExtraError` naming ``extra``, for ``feature``.

    >>> need("json", "excel", "milekit.to_excel").__name__
    'json'
    >>> need("no_such_module_here", "excel", "milekit.to_excel")
    Traceback (most recent call last):
    ...
    milekit.errors.MissingExtraError: milekit.to_excel needs no_such_module_here: pip install ...
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(feature, module.split(".")[0], extra) from None


class ResponseError(MileError):
    """The server answered, but not with something milekit can read."""


class IncompleteReadError(MileError):
    """Pages of a read failed after their retries; the rest was read and is kept.

    ``partial`` holds the rows that did arrive (a typed frame, when the read was a
    :func:`milekit.frame`), ``missing`` the page numbers that did not, ``cause`` the
    error of the first of them. Pass the error back to finish the read: only the missing
    pages are fetched (``milekit.tasks_frame(resume=err)``).

    >>> e = IncompleteReadError("tasks", {7: ServerError(500, "boom")}, last_page=9)
    >>> e.missing, e.last_page, type(e.cause).__name__
    ((7,), 9, 'ServerError')
    """

    def __init__(
        self,
        resource: str,
        failures: dict[int, MileError],
        last_page: int | None,
        *,
        seen: int = 0,
    ) -> None:
        self.resource = resource
        self.failures = dict(sorted(failures.items()))
        self.missing = tuple(self.failures)
        self.last_page = last_page  #: None: the list was walked, it resumes from missing[0]
        self.seen = seen  #: rows read before the first missing page (walked lists)
        self.cause = next(iter(self.failures.values()))
        self.partial: Any = None  #: the rows received (set by the reader that failed)
        self.state: Any = None  #: what a resumed read starts from (set by the reader)
        of = f" of {last_page}" if last_page is not None else ""
        pages = ", ".join(str(n) for n in self.missing[:10])
        more = f" and {len(self.missing) - 10} more" if len(self.missing) > 10 else ""
        super().__init__(
            f"{resource}: {len(self.missing)}{of} pages could not be read (page {pages}{more}: "
            f"{self.cause.message}); the rows received are in err.partial, and "
            f"frame(..., resume=err) reads only what is missing"
        )


class ApiError(MileError):
    """The API answered with an error status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        failed_code: str | None = None,
        method: str = "",
        url: str = "",
        body: Any = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.api_message = redact(message)
        self.failed_code = failed_code
        self.method = method
        self.url = redact(url)
        self.body = redact_json(body)  #: the answer's body, any echoed token masked
        self.retry_after = retry_after
        text = f"{status} {self.api_message}"
        if failed_code:
            text += f" [{failed_code}]"
        if method or url:
            text += f" ({method} {self.url})"
        super().__init__(text)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.status, self.api_message, self.failed_code, self.method, self.url),
        )


def _rebuild(
    cls: type[ApiError], status: int, message: str, code: str | None, method: str, url: str
) -> ApiError:
    return cls(status, message, failed_code=code, method=method, url=url)


class BadRequestError(ApiError, ValueError):
    """400: validation failed (Laravel-style message, e.g. "The flow field is required.")."""


class AuthError(ApiError):
    """401: the token is missing, invalid, deleted or expired."""


class ForbiddenError(ApiError):
    """403: the token's user may not do this."""


class NotFoundError(ApiError, KeyError):
    """404: unknown id or unknown URL ("Data not found")."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return ApiError.__str__(self)


class MethodNotAllowedError(ApiError):
    """405: wrong HTTP method for the path."""


class NotAcceptableError(ApiError):
    """406: the Accept header is not application/json or */*."""


class ConflictError(ApiError):
    """409: conflict with the current state (e.g. a duplicate name)."""


class PayloadTooLargeError(ApiError):
    """413: the request body is too large."""


class RateLimitError(ApiError):
    """429: over the organisation's 100 requests per second. ``retry_after`` in seconds."""


class ServerError(ApiError):
    """5xx: the server failed (500, 502, 503, 504)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    406: NotAcceptableError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}


def error_class(status: int) -> type[ApiError]:
    """The subclass for an HTTP status.

    >>> error_class(404).__name__, error_class(503).__name__, error_class(418).__name__
    ('NotFoundError', 'ServerError', 'ApiError')
    """
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status < 600:
        return ServerError
    return ApiError


def from_response(
    status: int,
    body: Any,
    *,
    method: str = "",
    url: str = "",
    retry_after: float | None = None,
) -> ApiError:
    """Build the right ``ApiError`` from a status and a decoded (or raw text) body.

    Error bodies come as ``{"status": false, "message": ...}``, sometimes wrapped in
    ``{"response": {...}}`` (note 2), sometimes with ``failedCode``.

    >>> e = from_response(404, {"response": {"status": False, "message": "data not found"}})
    >>> type(e).__name__, e.api_message
    ('NotFoundError', 'data not found')
    """
    inner = body
    if (
        isinstance(inner, dict)
        and set(inner) == {"response"}
        and isinstance(inner["response"], dict)
    ):
        inner = inner["response"]
    message = ""
    code = None
    if isinstance(inner, dict):
        message = str(inner.get("message") or inner.get("error") or "")
        raw_code = inner.get("failedCode")
        code = str(raw_code) if raw_code is not None else None
    elif isinstance(inner, str):
        message = inner[:300]
    if not message:
        message = {429: "Too many requests", 404: "Data not found"}.get(status, "HTTP error")
    cls = error_class(status)
    return cls(
        status,
        message,
        failed_code=code,
        method=method,
        url=url,
        body=body,
        retry_after=retry_after,
    )


#: the milekit package directory (this module sits at its top)
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # milekit/


def caller_stacklevel() -> int:
    """The ``stacklevel`` that points a warning issued by the calling function at the
    first frame outside milekit: the user's line, whichever helper chain led there.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as got:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("x", stacklevel=caller_stacklevel())
    >>> got[0].filename.endswith("errors.py")
    False
    """
    frame = sys._getframe(1)  # the function that warns: level 1
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level
