"""List filters checked and encoded before anything is sent.

>>> from milekit.types import registry
>>> tasks = registry.TASKS
>>> encode_filters(tasks.query, tasks.rows, {"status": "done", "flow": ["Delivery", "Pickup"],
...     "timeFrom": dt.datetime(2026, 9, 1, 7, tzinfo=dt.timezone(dt.timedelta(hours=7)))})
{'status': 'DONE', 'flow': 'Delivery,Pickup', 'timeFrom': '2026-09-01 00:00:00'}
>>> users = registry.get("users")
>>> encode_filters(users.query, users.rows, {"status": "Active"})
{'status': 'active'}
>>> flows = registry.get("flows")
>>> encode_filters(flows.query, flows.rows, {"sortBy": "name", "sortOrder": "ASC"})
{'sort_by': 'name', 'sort_order': 'asc'}
>>> encode_filters(tasks.query, tasks.rows, {"stauts": "DONE"})
Traceback (most recent call last):
...
milekit.errors.UsageError: unknown filter for tasks: 'stauts' (did you mean 'status'?); ...

How a value is checked and sent is the filter's declared kind
(:data:`~milekit.types.model.FilterKind`, in the registry); a filter naming an enumerated
field is matched against its values whatever the case and sent in the API's own spelling
(``DONE`` for tasks, ``active`` for users, note 15); lists become CSV; ``sortBy`` /
``sortOrder`` are renamed to the list's own spelling (``sort_by`` for flows, ``sort`` /
``order`` for activities).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from milekit.errors import UsageError
from milekit.types.registry import CustomFields, Filters, RowSchema

__all__ = ["encode_filters", "encode_time", "unknown_fields"]

_OBJECT_ID = re.compile(r"[0-9a-fA-F]{24}")
_SORT_BY = ("sortBy", "sort_by", "sort")
_SORT_ORDER = ("sortOrder", "sort_order", "order")


def encode_filters(
    query: Filters,
    rows: RowSchema,
    filters: Mapping[str, Any],
    custom: CustomFields | None = None,
) -> dict[str, str]:
    """Validate and encode list filters; raise :class:`UsageError` before anything is sent.

    With ``custom``, its ``keyword`` (``data_type=``) picks groups by name or id.
    """
    filters = _groups_picked(custom, filters)
    problems: list[str] = []
    out: dict[str, str] = {}
    for given, value in filters.items():
        key = _aliased(query, given)
        if key not in query:
            hint = difflib.get_close_matches(given, list(query.docs), n=1)
            problems.append(
                f"unknown filter for {query.owner}: {given!r}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
            continue
        if value is None:
            continue
        try:
            out[key] = _encode_value(query, rows, key, value)
        except (TypeError, ValueError) as e:
            problems.append(f"{key}: {e}")
    if problems:
        known = ", ".join(sorted(query.docs)) or "none"
        raise UsageError("; ".join(problems) + f"; known filters: {known}")
    return out


def _groups_picked(custom: CustomFields | None, filters: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data_type="Store"`` -> ``dataTypeName="Store"`` (an ObjectId: ``dataTypeId``).

    >>> from milekit.types.registry import DATA_TYPE_FIELDS as D
    >>> _groups_picked(D, {"data_type": "Store"}), _groups_picked(D, {"data_type": "a" * 24})
    ({'dataTypeName': 'Store'}, {'dataTypeId': 'aaaaaaaaaaaaaaaaaaaaaaaa'})
    """
    if custom is None or not custom.keyword or filters.get(custom.keyword) is None:
        return filters
    out = {k: v for k, v in filters.items() if k != custom.keyword}
    value = filters[custom.keyword]
    by_id = isinstance(value, str) and _OBJECT_ID.fullmatch(value) is not None
    out[custom.by_id if by_id else custom.by_name] = value
    return out


def _aliased(query: Filters, key: str) -> str:
    """``sortBy``/``sortOrder`` (the tasks' spelling) -> the list's own spelling."""
    if key in query:
        return key
    by, order = query.sort_params
    if key in _SORT_BY and by is not None:
        return by
    if key in _SORT_ORDER and order is not None:
        return order
    return key


def _encode_value(query: Filters, rows: RowSchema, key: str, value: Any) -> str:
    kind = query.kind(key)
    if kind == "datetime":
        return encode_time(value)
    if kind == "date":
        return encode_time(value)[:10]
    if kind == "fields":
        return _projection(rows, value)
    if kind == "sort_order":
        v = str(value).lower()
        if v not in ("asc", "desc"):
            raise ValueError(f"must be 'asc' or 'desc', got {value!r}")
        return v
    if kind == "time_by":
        if value not in query.time_by:
            raise ValueError(f"must be one of {query.time_by}, got {value!r}")
        return str(value)
    f = rows.get(key)
    if f is not None and f.enum:
        return _enum(f.enum, value)
    return _text(value)


def _projection(rows: RowSchema, value: Any) -> str:
    """``fields=`` as sent: documented names (or, where rows carry custom keys, names the
    read plan checks against the custom fields' definitions), the id first."""
    names = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip() for n in names if n.strip()]
    secret = [n for n in names if n in rows.secret_fields]
    if secret:
        raise ValueError(f"{', '.join(secret)} is a secret and is never read")
    unknown = [n for n in names if n not in rows]
    if unknown and not rows.dynamic_fields:
        raise ValueError(unknown_fields(rows, unknown))
    if rows.id_field and rows.id_field not in names:
        names.insert(0, rows.id_field)
    return ",".join(names)


def unknown_fields(rows: RowSchema, unknown: list[str], custom: Iterable[str] = ()) -> str:
    """What a projection naming fields the resource does not have is told.

    >>> from milekit.types import registry
    >>> unknown_fields(registry.get("hubs").rows, ["nope"])[:43]
    "unknown field 'nope' for hubs; its fields: "
    """
    s = "s" if len(unknown) > 1 else ""
    names = ", ".join(repr(n) for n in unknown)
    known = [n for n in rows.field_names if n not in rows.secret_fields]
    text = f"unknown field{s} {names} for {rows.name}; its fields: {', '.join(known)}"
    extra = sorted(set(custom) - set(known))
    return text + (f"; its custom fields: {', '.join(extra)}" if extra else "")


def _enum(allowed: tuple[str, ...], value: Any) -> str:
    """Note 15: each resource spells its enums its own way; match any case, send theirs."""
    spelling = {e.lower(): e for e in allowed}
    values = _values(value)
    got = [spelling.get(str(v).strip().lower()) for v in values]
    bad = [v for v, g in zip(values, got, strict=True) if g is None]
    if bad:
        raise ValueError(f"must be one of {', '.join(allowed)}, got {bad[0]!r}")
    return ",".join(g for g in got if g is not None)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"unsupported value {value!r}")


def _values(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def encode_time(value: Any) -> str:
    """Datetimes and strings -> 'Y-m-d H:i:s' in UTC (naive values are taken as UTC).

    >>> encode_time("2026-09-01T07:00:00+07:00"), encode_time(dt.date(2026, 9, 1))
    ('2026-09-01 00:00:00', '2026-09-01 00:00:00')
    """
    if isinstance(value, str):
        try:
            ts = pd.Timestamp(value)
        except ValueError:
            raise ValueError(f"not a date/time: {value!r}") from None
    elif isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        ts = pd.Timestamp(value)
    else:
        raise TypeError(f"expected a datetime or 'Y-m-d H:i:s' string, got {value!r}")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return str(ts.strftime("%Y-%m-%d %H:%M:%S"))
