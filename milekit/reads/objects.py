"""Objects by id as typed frames: :func:`get`.

>>> import milekit
>>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:
...     hub_ids = list(milekit.hubs_frame(client=c, progress=False).index[:2])
...     hubs = milekit.get("hubs", hub_ids, client=c)
>>> len(hubs), hubs.index.name, str(hubs["lat"].dtype)
(2, '_id', 'Float64')

A detail read (``GET /task/{id}``, ``/hub/{id}/`` …) gives a one-row frame per id, typed
exactly like the resource's list frame (same registry fields, the same custom-column
typing for tasks and data records, secrets dropped), indexed by the id field. Every object
is read by :meth:`milekit.Client.read_object`, the one by-id reader the push path's
read-back and the child tables use too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from milekit.errors import UsageError
from milekit.reads import custom
from milekit.reads import flat as _flat
from milekit.reads.plan import custom_attrs, definitions_or_warn
from milekit.reads.snapshots import remember
from milekit.reads.table import empty_table
from milekit.types import registry, schema
from milekit.types.registry import CustomFields, DetailForm, ResourceSpec, RowSchema, fill_path
from milekit.wire.client import Client
from milekit.wire.context import get_client

#: one key, or several (one row each, read concurrently)
Keys = str | int | Sequence[str | int] | pd.Index


def many(value: Any) -> tuple[list[Any], bool]:
    """(the values, whether several were given).

    >>> many("a"), many(["a", "b"])
    ((['a'], False), (['a', 'b'], True))
    """
    if isinstance(value, str | int):
        return [value], False
    if isinstance(value, pd.Index | pd.Series):
        return list(value), True
    if isinstance(value, Sequence | set | frozenset):
        return list(value), True
    raise UsageError(f"expected an id (text) or a list of ids, got {value!r}")


def combos(params: Sequence[str], given: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Keyword values (each one value or a list) -> one dict per object to read: lists
    are zipped (same length), single values repeat.

    >>> combos(("a", "b"), {"a": [1, 2], "b": "x"})
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    missing = [p for p in params if given.get(p) is None]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}")
    spread = {p: many(given[p]) for p in params}
    lengths = {len(v) for v, several in spread.values() if several}
    if len(lengths) > 1:
        raise UsageError(f"the lists of {', '.join(params)} differ in length")
    n = lengths.pop() if lengths else 1
    return [
        {p: (v[i] if several else v[0]) for p, (v, several) in spread.items()} for i in range(n)
    ]


def typed_for_rows(
    rows: RowSchema,
    fields: CustomFields | None,
    docs: Sequence[Mapping[str, Any]],
    client: Client,
) -> tuple[RowSchema, tuple[str, ...], custom.Definitions | None, list[str]]:
    """``rows`` extended by the custom columns of the documents' groups (their flows /
    data types), typed from the definitions as in the list frames; the columns to force."""
    if fields is None or not docs:
        return rows, (), None, []
    defs = definitions_or_warn(fields, rows.name, client)
    if defs is None:
        return rows, (), None, []
    groups: list[str] = []
    for d in docs:
        g = defs.group_of(str(d.get(defs.group_by)))
        if g is not None and g not in groups:
            groups.append(g)
    extra = defs.fields_for(groups, rows.field_names)
    return rows.extended(extra), tuple(f.name for f in extra), defs, groups


def without_secrets(docs: list[dict[str, Any]], secrets: Iterable[str]) -> list[dict[str, Any]]:
    keys = tuple(secrets)
    if not keys:
        return docs
    return [{k: v for k, v in r.items() if k not in keys} for r in docs]


def to_table(
    docs: list[dict[str, Any]], rows: RowSchema, index: str | None, columns: Sequence[str]
) -> pa.Table:
    """The typed table of ``docs``: ``index`` first, then ``columns`` (forced), then the
    rest."""
    if docs:
        return schema.rows_to_table(docs, rows, [*([index] if index else []), *columns])
    return empty_table(rows) if index else schema.rows_to_table([], rows, rows.field_names)


def to_frame(
    docs: list[dict[str, Any]], rows: RowSchema, index: str | None, columns: Sequence[str]
) -> tuple[pd.DataFrame, pa.Table]:
    """The typed frame (and its table) of ``docs``, indexed by ``index``."""
    table = to_table(docs, rows, index, columns)
    return schema.to_pandas(table, index=index), table


def _keys_and_path(
    spec: ResourceSpec, id: Keys | None, keys: Mapping[str, Any]
) -> tuple[list[Any], str]:
    """What to read each object by (ids, or mappings of a keyword form's parameters) and
    the path template that reads them."""
    if id is not None and keys:
        raise UsageError("give either an id or the keyword keys, not both")
    if id is not None:
        if not spec.detail_path:
            raise UsageError(
                f"{spec.name} has no single-object read in the API; read it with "
                f"milekit.frame({spec.name!r}, ...)"
            )
        return _checked(many(id)[0], spec.detail_path), spec.detail_path
    if not keys:
        raise UsageError(f"get({spec.name!r}) needs an id (or a list of ids)")
    form = _form(spec, keys)
    return _checked(list(combos(form.params, keys)), form.path), form.path


def _checked(wanted: list[Any], template: str) -> list[Any]:
    """``wanted``, once each fills ``template`` (an empty key fails before anything is sent)."""
    for k in wanted:
        try:
            fill_path(template, k if isinstance(k, Mapping) else {"id": k})
        except ValueError as e:
            raise UsageError(str(e)) from None
    return wanted


def _form(spec: ResourceSpec, keys: Mapping[str, Any]) -> DetailForm:
    forms = registry.DETAIL_FORMS.get(spec.name, ())
    form = next((f for f in forms if set(f.params) == set(keys)), None)
    if form is None:
        known = "; ".join(", ".join(f.params) for f in forms) or "none (only the id)"
        raise UsageError(
            f"{spec.name} cannot be read by {', '.join(sorted(keys))}; its keyword forms: {known}"
        )
    return form


def get(
    resource: str,
    id: Keys | None = None,
    *,
    client: Client | None = None,
    flatten: bool = False,
    split_coordinates: bool = False,
    **keys: Any,
) -> pd.DataFrame:
    """One object of ``resource`` (or several) by id, as a typed frame indexed by its id.

    >>> import milekit
    >>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:
    ...     ids = list(milekit.tasks_frame(client=c, progress=False).index[:3])
    ...     one = milekit.get("tasks", ids[0], client=c)
    ...     three = milekit.get("tasks", ids, client=c)
    ...     store = milekit.get("data", data_type="Store", data_id="STR-JAK-01", client=c)
    >>> len(one), len(three), one.index.name, str(one["startTime"].dtype)
    (1, 3, '_id', 'datetime64[us, UTC]')
    >>> store["dataId"].tolist()
    ['STR-JAK-01']

    Reads the resource's detail path (``GET /task/{id}``, ``/hub/{id}/`` …; several ids
    concurrently, within the client's rate limit) and types each object exactly like the
    resource's list frame: the same registry dtypes for the same columns, detail-only keys
    (tasks' ``histories``) typed from the registry, tasks' flow components and data
    records' data-type fields typed from their definitions (:func:`milekit.custom_columns`
    works on the result), secret keys dropped.

    Args:
        resource: a registry name (``tasks``, ``hubs``, ``users`` …).
        id: an id or a list of ids (one row each, in that order).
        client: default the one from :func:`milekit.use` / the environment.
        flatten: as in :func:`milekit.frame`.
        split_coordinates: as in :func:`milekit.frame`.
        keys: instead of ``id``, the other detail paths: ``data_type`` + ``data_id``
            (``GET /data/type/{name}/{dataId}``), with ``hub_id`` too
            (``/data/hub/{hubId}/type/{name}/{dataId}``) for data records;
            ``email`` (``GET /user/email/{email}``) for users. Each takes one value or a
            list.

    Raises:
        NotFoundError: an id the API does not know (the first one, for several).
        UsageError: a resource without a single-object read, or keys it does not take.
    """
    spec = registry.get(resource)
    wanted, how = _keys_and_path(spec, id, keys)
    client = client or get_client()
    docs = client.concurrently(lambda k: client.read_object(spec, k, path=how), wanted)
    docs = without_secrets(docs, spec.secret_fields)
    typed, extra, defs, groups = typed_for_rows(spec.rows, spec.custom, docs, client)
    df, table = to_frame(docs, typed, spec.id_field, extra)
    df.attrs["milekit"] = {
        "resource": spec.name,
        "detail": how,
        **custom_attrs(spec, defs, groups, df.columns),
    }
    remember(df, table, spec)  # push(df) compares edits against this snapshot
    if flatten or split_coordinates:
        df = _flat.flatten(df, objects=flatten, coordinates=split_coordinates, rows=typed)
    return df
