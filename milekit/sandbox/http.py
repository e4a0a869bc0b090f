"""The HTTP and Laravel conventions every sandbox endpoint speaks; nothing here knows a resource.

>>> router = Router([Route("GET", "/hub/{id}", lambda r: Response(200, {"id": r.params["id"]}))])
>>> handler, params = router.resolve("GET", "/hub/abc")
>>> params
{'id': 'abc'}
>>> router.resolve("PUT", "/hub/abc")
Traceback (most recent call last):
...
milekit.sandbox.http.HttpError: The PUT method is not supported for this route.

This is the bottom layer of the sandbox: requests and responses, the route table, error
answers, Laravel's paginator and validation messages, time spellings and the Mongo-like sort.
:mod:`milekit.sandbox.common` adds what the resources share (the registry's standard routes,
the context); the resource modules (the package :mod:`~milekit.sandbox.resources`, one module
a registry tag) sit above both, and :mod:`milekit.sandbox.app` on
top. Imports only go down.

The route table is data: a list of :class:`Route` (method, path template, handler).
:class:`Router` matches like Laravel: a route whose path *and* method match wins (literal
paths before templated ones), a path known only under other methods is a 405 with ``Allow``,
anything else a 404. Handlers take a :class:`Request` (path parameters in ``params``, JSON in
``body``, multipart fields in ``form``/``files``) and return a :class:`Response`; they raise
:class:`HttpError` for errors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, NamedTuple, NoReturn
from urllib.parse import parse_qsl, quote, unquote, urlencode

import orjson

__all__ = [
    "BAD_REQUEST",
    "PREFIX",
    "HttpError",
    "Raw",
    "Request",
    "Response",
    "Route",
    "Router",
    "Upload",
    "V",
    "attribute",
    "bulk_items",
    "bulk_summary",
    "csv",
    "instant",
    "int_arg",
    "is_date",
    "is_object_id",
    "iso_micro",
    "iso_now",
    "naive",
    "page_args",
    "paginator",
    "parse_coord",
    "project",
    "sort_docs",
    "sort_key",
    "truthy",
]

PREFIX = "/api/v3"
BAD_REQUEST = "Bad request - invalid parameters provided."
#: the key of the paginator's rows
_ROWS = "data"
_HEX24 = re.compile(r"^[0-9a-f]{24}$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class HttpError(Exception):
    """An error answer: ``{"status": false, "message": ...}`` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Iterable[tuple[str, str]] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = list(headers)
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"status": False, "message": self.message, **self.extra}


@dataclass(frozen=True)
class Upload:
    """One file of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Request:
    """What a handler sees of one request."""

    method: str
    path: str  #: below /api/v3, without the trailing slash
    raw_path: str  #: as sent
    query: dict[str, str]  #: last value wins, like PHP
    raw_query: str
    base: str  #: scheme://host:port
    body: Any = None  #: the decoded JSON body (None without one)
    params: dict[str, str] = field(default_factory=dict)  #: path parameters
    form: dict[str, str] = field(default_factory=dict)  #: multipart / urlencoded fields
    files: dict[str, Upload] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The absolute URL of the path, without the query (a paginator's ``path``)."""
        return f"{self.base}{PREFIX}{self.path}"


class Raw(NamedTuple):
    """A non-JSON response body (``GET /file/view`` streams images)."""

    data: bytes
    content_type: str


class Response(NamedTuple):
    status: int
    body: Any  #: JSON-serialisable, or :class:`Raw`
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    """One row of the route table: ``method`` + ``path`` template (``{name}`` parameters).

    ``op`` names the registry operation a standard route serves: ``(resource, attribute)``
    such as ``("flows", "update_path")`` (set by :func:`resource_routes`); ``None`` for the
    irregular actions.
    """

    method: str
    path: str
    handler: Handler
    op: tuple[str, str] | None = None


class Router:
    """The compiled route table (see the module docstring for the matching rules)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            template = route.path.rstrip("/") or "/"
            methods = by_path.setdefault(template, {})
            if route.method in methods:
                raise ValueError(f"duplicate route {route.method} {template}")
            methods[route.method] = route
        # literal paths first, then by number of parameters: /task/schedules before /task/{id}
        ordered = sorted(by_path.items(), key=lambda kv: kv[0].count("{"))
        self._table = [(_compile(t), t, m) for t, m in ordered]

    @property
    def operations(self) -> list[tuple[str, str]]:
        """Every (method, template) served, in matching order."""
        return [(m, t) for _, t, methods in self._table for m in methods]

    @property
    def routes(self) -> list[Route]:
        """Every route, in matching order."""
        return [r for _, _, methods in self._table for r in methods.values()]

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """The handler and path parameters for a request (HttpError 404/405 otherwise)."""
        route, params = self.match(method, path)
        return route.handler, params

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and path parameters for a request (HttpError 404/405 otherwise).

        >>> Router([Route("GET", "/x/{id}", print, ("xs", "detail_path"))]).match(
        ...     "GET", "/x/7")[0].op
        ('xs', 'detail_path')
        """
        allowed: list[str] = []
        for rx, _, methods in self._table:
            m = rx.match(path)
            if m is None:
                continue
            route = methods.get(method)
            if route is not None:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
            allowed += [x for x in methods if x not in allowed]
        if allowed:
            raise HttpError(
                405,
                f"The {method} method is not supported for this route.",
                [("Allow", ", ".join(allowed))],
            )
        raise HttpError(404, "Data not found")


def _compile(template: str) -> re.Pattern[str]:
    out = re.escape(template)
    out = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", out)
    return re.compile(f"^{out}$")


#: The standard operations of a resource: the ResourceSpec attribute holding the path ->

# --- time spellings (note 6) ------------------------------------------------------


def attribute(name: str) -> str:
    """Laravel's attribute name in messages.

    >>> attribute("hubId"), attribute("startTime"), attribute("flow")
    ('hub id', 'start time', 'flow')
    """
    return re.sub(r"(?<!^)([A-Z])", r" \1", name).replace("_", " ").strip().lower()


@lru_cache(maxsize=1 << 20)
def instant(value: str) -> float | None:
    """The UTC epoch seconds of a datetime spelling (naive = UTC), None if unparseable.

    >>> instant("2026-08-01 07:00:00") == instant("2026-08-01T14:00:00.000+07:00")
    True
    """
    try:
        dt = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def iso_now(now: float) -> str:
    """``2026-11-28T16:35:13+00:00``: how the API writes datetimes it sets."""
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def iso_micro(now: float) -> str:
    """``2026-11-28T16:35:13.123456Z``: flows, hubs, teams, roles, plugins ...

    >>> iso_micro(0)
    '1970-01-01T00:00:00.000000Z'
    """
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def naive(now: float) -> str:
    """``2026-11-28 16:35:13`` (UTC, no zone): data sources, location history, imports.

    >>> naive(86400)
    '1970-01-02 00:00:00'
    """
    return datetime.fromtimestamp(int(now), UTC).strftime("%Y-%m-%d %H:%M:%S")


# --- Laravel's paginator -------------------------------------------------------------


def page_url(path_url: str, pairs: list[tuple[str, str]], page: int) -> str:
    """``path_url`` + the original query with ``page`` set (kept in place if present), a
    space spelt ``%20`` as PHP's RFC 3986 query builder spells it.

    >>> page_url("http://h/tasks", [("q", "a b"), ("page", "1")], 2)
    'http://h/tasks?q=a%20b&page=2'
    """
    out, seen = [], False
    for k, v in pairs:
        if k == "page":
            if not seen:
                out.append(("page", str(page)))
                seen = True
        else:
            out.append((k, v))
    if not seen:
        out.append(("page", str(page)))
    return f"{path_url}?{urlencode(out, quote_via=quote)}"


def paginator(
    data: list[Any], total: int, page: int, per_page: int, path_url: str, raw_query: str
) -> dict[str, Any]:
    """Laravel's ``LengthAwarePaginator`` JSON with all 13 keys (links window included).

    >>> p = paginator([1, 2], 2, 1, 20, "http://h/api/v3/tasks", "limit=20")
    >>> p["first_page_url"], p["from"], p["to"], p["last_page"], len(p)
    ('http://h/api/v3/tasks?limit=20&page=1', 1, 2, 1, 13)
    """
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    last = max(math.ceil(total / per_page), 1)

    def url(n: int) -> str:
        return page_url(path_url, pairs, n)

    def link(n: int | None, label: str, active: bool = False) -> dict[str, Any]:
        # every link has ``page``: null where it leads nowhere (docs/api-notes.md note 30)
        return {"url": None if n is None else url(n), "label": label, "page": n, "active": active}

    links = [link(page - 1 if page > 1 else None, "&laquo; Previous")]
    links += [link(n, "..." if n is None else str(n), n == page) for n in _url_window(page, last)]
    links.append(link(page + 1 if page < last else None, "Next &raquo;"))
    first_item = (page - 1) * per_page + 1 if data else None
    return {
        "current_page": page,
        _ROWS: data,
        "first_page_url": url(1),
        "from": first_item,
        "last_page": last,
        "last_page_url": url(last),
        "links": links,
        "next_page_url": url(page + 1) if page < last else None,
        "path": path_url,
        "per_page": per_page,
        "prev_page_url": url(page - 1) if page > 1 else None,
        "to": first_item + len(data) - 1 if first_item is not None else None,
        "total": total,
    }


def _url_window(page: int, last: int, each_side: int = 3) -> list[int | None]:
    """Laravel's ``UrlWindow``: page numbers with ``None`` for the "..." separators."""
    if last < each_side * 2 + 8:
        return list(range(1, last + 1))
    window = each_side + 4
    start, finish = [1, 2], [last - 1, last]
    if page <= window:
        return [*range(1, window + each_side + 1), None, *finish]
    if page > last - window:
        return [*start, None, *range(last - (window + each_side - 1), last + 1)]
    return [*start, None, *range(page - each_side, page + each_side + 1), None, *finish]


def page_args(
    q: dict[str, str],
    *,
    default: int = 20,
    maximum: int | None = 1000,
    page: str = "page",
    limit: str = "limit",
    max_page: int | None = None,
) -> tuple[int, int]:
    """``(page, limit)`` from the query, with Laravel's messages for bad values.

    >>> page_args({"page": "2", "limit": "50"})
    (2, 50)
    >>> page_args({"limit": "5000"})  # capped, not refused (note 28)
    (1, 1000)
    """
    p = int_arg(q, page, 1)
    n = int_arg(q, limit, default)
    if p < 1:
        raise HttpError(400, f"The {attribute(page)} must be at least 1.")
    if max_page is not None and p > max_page:
        raise HttpError(400, f"The {attribute(page)} may not be greater than {max_page}.")
    if n < 1:
        raise HttpError(400, f"The {attribute(limit)} must be at least 1.")
    if maximum is not None and n > maximum:
        n = maximum  # real clients read limit=5000 and get their rows (note 28)
    return p, n


def int_arg(q: dict[str, str], name: str, default: int) -> int:
    raw = q.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise HttpError(400, f"The {attribute(name)} must be an integer.") from None


# --- query values, projection and order ----------------------------------------------


def csv(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def project(
    doc: dict[str, Any], fields: Sequence[str], always: Sequence[str] = ()
) -> dict[str, Any]:
    """``doc`` reduced to ``fields`` (plus ``always``); unknown names are skipped."""
    keep = [*always, *(f for f in fields if f not in always)]
    return {k: doc[k] for k in keep if k in doc}


def sort_docs(
    docs: list[dict[str, Any]],
    by: str | None,
    order: str | None,
    *,
    default_by: str,
    default_order: str = "desc",
    key_name: str = "sort order",
) -> list[dict[str, Any]]:
    """``docs`` sorted by ``by`` (dotted paths reach into objects) in ``order``, with
    :func:`sort_key`; strings compare case-folded. Datetime-looking fields (``…Time``,
    ``…At``, ``…Date``, ``timestamp``) compare as instants whatever their spelling.

    >>> docs = [{"_id": "a", "t": "b"}, {"_id": "b", "t": None}, {"_id": "c", "t": "A"}]
    >>> [d["_id"] for d in sort_docs(docs, "t", "asc", default_by="_id")]
    ['b', 'c', 'a']
    """
    field_name = by or default_by
    direction = (order or default_order).lower()
    if direction not in ("asc", "desc"):
        raise HttpError(400, f"The selected {key_name} is invalid.")
    is_time = field_name.endswith(("Time", "At", "Date", "time", "timestamp"))
    key = sort_key(field_name, is_time=is_time, fold_case=True)
    return sorted(docs, key=key, reverse=direction == "desc")


def sort_key(
    field_name: str, *, is_time: bool, fold_case: bool
) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """Mongo's order as a sort key: missing/null first, then numbers (and, with
    ``is_time``, datetime strings as instants), strings, booleans, other JSON; ties
    broken by ``_id`` (or ``id``).

    >>> sorted([{"_id": "x", "n": True}, {"_id": "y", "n": 2}, {"_id": "z"}],
    ...        key=sort_key("n", is_time=False, fold_case=False))[0]["_id"]
    'z'
    """
    dotted = "." in field_name

    def key(d: dict[str, Any]) -> tuple[Any, ...]:
        tie = str(d.get("_id") or d.get("id") or "")
        v = _dig(d, field_name) if dotted else d.get(field_name)
        if v is None:
            return (0, 0, tie)
        if isinstance(v, bool):
            return (3, int(v), tie)
        if isinstance(v, (int, float)):
            return (1, v, tie)
        if isinstance(v, str):
            if is_time:
                t = instant(v)
                if t is not None:
                    return (1, t, tie)
            return (2, v.lower() if fold_case else v, tie)
        return (4, orjson.dumps(v, option=orjson.OPT_SORT_KEYS), tie)

    return key


def _dig(d: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


def truthy(value: Any) -> bool | None:
    """``True``/``False`` from a query or form value; None when absent or not boolean."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    s = str(value).strip().lower()
    if s in ("true", "1"):
        return True
    if s in ("false", "0"):
        return False
    return None


def bulk_summary(results: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """``{"success", "failed", <key>: [...]}`` (note 1)."""
    ok = sum(1 for r in results if r.get("status") is True)
    return {"success": ok, "failed": len(results) - ok, key: results}


def bulk_items(body: Any, key: str, maximum: int, name: str | None = None) -> list[Any]:
    """The array under ``key`` of a bulk body, or Laravel's 400."""
    if not isinstance(body, dict):
        raise HttpError(400, BAD_REQUEST)
    label = name or attribute(key)
    items = body.get(key)
    if items is None or items == []:
        raise HttpError(400, f"The {label} field is required.")
    if not isinstance(items, list):
        raise HttpError(400, f"The {label} must be an array.")
    if len(items) > maximum:
        raise HttpError(400, f"The {label} may not have more than {maximum} items.")
    return items


# --- validation ---------------------------------------------------------------------------


class V:
    """Laravel-style validation of one JSON object (messages like "The name field is required.").

    >>> V({"speed": "fast"}).int_("speed")
    Traceback (most recent call last):
    ...
    milekit.sandbox.http.HttpError: The speed must be an integer.

    ``raw_names`` keeps attribute names as sent ("The workflowId field is required.");
    ``extra`` goes into every error body (``code``, ``failedCode`` ...). ``required``
    names the keys that must be present (a resource's ``required_on_create`` from the
    registry): each typed check of such a key requires it (in the endpoint's own order of
    checks, as Laravel validates rule by rule), and :meth:`check_required` requires the
    ones no check has looked at.

    >>> V({"name": "x"}, required=("name", "hubId")).str_("hubId")
    Traceback (most recent call last):
    ...
    milekit.sandbox.http.HttpError: The hub id field is required.
    """

    def __init__(
        self,
        body: Any,
        *,
        raw_names: bool = False,
        extra: dict[str, Any] | None = None,
        status: int = 400,
        required: Iterable[str] = (),
    ) -> None:
        if not isinstance(body, dict):
            raise HttpError(status, BAD_REQUEST, extra=extra)
        self.body: dict[str, Any] = body
        self.raw_names = raw_names
        self.extra = extra
        self.status = status
        self.must = tuple(required)

    def _must(self, key: str, required: bool | None) -> bool:
        return key in self.must if required is None else required

    def check_required(self) -> None:
        """Every key of ``required`` must be present (call it after the typed checks)."""
        self.required(*self.must)

    def name(self, key: str) -> str:
        return key if self.raw_names else attribute(key)

    def fail(self, message: str) -> NoReturn:
        raise HttpError(self.status, message, extra=self.extra)

    def has(self, key: str) -> bool:
        return key in self.body

    def present(self, key: str) -> bool:
        v = self.body.get(key)
        return v is not None and v != "" and v != []

    def required(self, *keys: str) -> None:
        for k in keys:
            if not self.present(k):
                self.fail(f"The {self.name(k)} field is required.")

    def str_(
        self,
        key: str,
        *,
        required: bool | None = None,
        enum: Sequence[str] | None = None,
        min_len: int | None = None,
        max_len: int | None = None,
        nullable: bool = True,
    ) -> str | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            if not nullable and key in self.body:
                self.fail(f"The {self.name(key)} must be a string.")
            return None
        if not isinstance(v, str):
            self.fail(f"The {self.name(key)} must be a string.")
        if enum is not None and v not in enum:
            self.fail(f"The selected {self.name(key)} is invalid.")
        if min_len is not None and max_len is not None and not min_len <= len(v) <= max_len:
            self.fail(f"The {self.name(key)} must be between {min_len} and {max_len} characters.")
        if max_len is not None and len(v) > max_len:
            self.fail(f"The {self.name(key)} may not be greater than {max_len} characters.")
        return v

    def int_(
        self,
        key: str,
        *,
        required: bool | None = None,
        lo: int | None = None,
        hi: int | None = None,
        coerce: bool = True,
    ) -> int | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if isinstance(v, str) and coerce and re.fullmatch(r"-?\d+", v.strip()):
            v = int(v)
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(f"The {self.name(key)} must be an integer.")
        if lo is not None and v < lo:
            self.fail(f"The {self.name(key)} must be at least {lo}.")
        if hi is not None and v > hi:
            self.fail(f"The {self.name(key)} may not be greater than {hi}.")
        return v

    def num(self, key: str, *, required: bool | None = None, coerce: bool = True) -> float | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if isinstance(v, str) and coerce:
            try:
                v = float(v)
            except ValueError:
                self.fail(f"The {self.name(key)} must be a number.")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(f"The {self.name(key)} must be a number.")
        return float(v)

    def bool_(self, key: str, *, required: bool | None = None) -> bool | None:
        if self._must(key, required) and key not in self.body:
            self.fail(f"The {self.name(key)} field is required.")
        v = self.body.get(key)
        if v is None:
            return None
        b = truthy(v)
        if b is None or not isinstance(v, (bool, str, int)):
            self.fail(f"The {self.name(key)} field must be true or false.")
        return b

    def list_(
        self, key: str, *, required: bool | None = None, max_items: int | None = None
    ) -> list[Any] | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if not isinstance(v, list):
            self.fail(f"The {self.name(key)} must be an array.")
        if max_items is not None and len(v) > max_items:
            self.fail(f"The {self.name(key)} may not have more than {max_items} items.")
        return v

    def strings(
        self, key: str, *, required: bool | None = None, max_items: int | None = None
    ) -> list[str] | None:
        """An array of strings (a lone string is taken as a one-item list)."""
        v = self.body.get(key)
        if isinstance(v, str) and v:
            v = [v]
            self.body = dict(self.body, **{key: v})
        items = self.list_(key, required=required, max_items=max_items)
        if items is not None and not all(isinstance(x, str) for x in items):
            self.fail(f"The {self.name(key)} must be an array of strings.")
        return items

    def obj(self, key: str, *, required: bool | None = None) -> dict[str, Any] | None:
        if self._must(key, required):
            self.required(key)
        v = self.body.get(key)
        if v is None:
            return None
        if not isinstance(v, dict):
            self.fail(f"The {self.name(key)} must be an object.")
        return v

    def date(self, key: str, *, required: bool | None = None) -> str | None:
        """A date or datetime in one of the accepted spellings (kept as sent)."""
        v = self.str_(key, required=required)
        if v is not None and instant(v) is None:
            self.fail(f"The {self.name(key)} is not a valid date.")
        return v

    def time(self, key: str, value: Any, label: str | None = None) -> str:
        """A time of day ``H:i`` / ``H:i:s``."""
        if not isinstance(value, str) or not _TIME.match(value.strip()):
            self.fail(f"The {label or self.name(key)} does not match the format H:i.")
        return value.strip()

    def email(self, key: str, *, required: bool | None = None) -> str | None:
        v = self.str_(key, required=required)
        if v is not None and not _EMAIL.match(v):
            self.fail(f"The {self.name(key)} must be a valid email address.")
        return v

    def coordinate(self, key: str, *, required: bool | None = None) -> str | None:
        """A ``"lat,lng"`` string."""
        v = self.str_(key, required=required)
        if v is not None and parse_coord(v) is None:
            self.fail(f"The {self.name(key)} is not a valid coordinate.")
        return v


def parse_coord(value: Any) -> tuple[float, float] | None:
    """``(lat, lng)`` from ``"lat,lng"`` (None if it is not one).

    >>> parse_coord("-6.2,106.8"), parse_coord("nowhere")
    ((-6.2, 106.8), None)
    """
    if not isinstance(value, str) or "," not in value:
        return None
    a, _, b = value.partition(",")
    try:
        lat, lng = float(a), float(b)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


def is_object_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_HEX24.match(value))


def is_date(value: Any) -> bool:
    """``Y-m-d`` and a real calendar date."""
    if not isinstance(value, str) or not _DATE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True
