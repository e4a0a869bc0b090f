"""Generate ``milekit/reads/named.py``: one named helper per readable resource, per
child table and per view, from the registry and the tables below.

Usage (from anywhere; paths are relative to the repository)::

    python tools/gen_frames.py            # rewrite milekit/reads/named.py and the helpers
                                          # of docs/public-api.md
    python tools/gen_frames.py --check    # exit 1 if either committed file is stale
    python tools/gen_frames.py --output F

Every helper is a thin call of :func:`milekit.frame` (of a resource, a child table or a
view) whose keyword parameters are the resource's documented list filters (from
``milekit.types.registry``), so IDEs and ``help()`` show real signatures and docs; their
bodies are all the same one line, written here once. ``tests/reads/test_frames_all.py`` fails
when the module differs from a fresh run. The helpers' names are also the generated part of
the public surface: ``HELPERS`` in the module (``milekit.__all__`` ends with them) and the
"Named helpers" section of docs/public-api.md, rewritten with the module.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "milekit" / "reads" / "named.py"
#: the page pinning the public surface: its last section lists the helpers
DOC = ROOT / "docs" / "public-api.md"
#: where that section begins (it runs to the end of the page)
DOC_SECTION = "## Named helpers\n"
sys.path.insert(0, str(ROOT))

from gen_registry import ruff_format  # noqa: E402  (tools/ is this script's own path)

from milekit.reads.frames import dtypes_of  # noqa: E402
from milekit.types import registry  # noqa: E402
from milekit.types.registry import (  # noqa: E402
    ChildSpec,
    Filters,
    ResourceSpec,
    RowSchema,
    ViewSpec,
)

#: helper name -> resource: every readable resource of the registry, named after it
#: (``data`` records are read per data type: ``data_frame(data_type=...)``)
RESOURCE_HELPERS: dict[str, str] = {f"{name}_frame": name for name in registry.RESOURCES}
#: helper name -> child table (``milekit.types.registry.CHILDREN``)
CHILD_HELPERS: dict[str, str] = {f"{name}_frame": name for name in registry.CHILDREN}

#: helper name -> view (``milekit.types.registry.VIEWS``)
VIEW_HELPERS: dict[str, str] = {f"{name}_frame": name for name in registry.VIEWS}
#: helper name -> resource read as a pyarrow.Table: the default resource's (tasks_table())
TABLE_HELPERS: dict[str, str] = {f"{registry.DEFAULT_RESOURCE}_table": registry.DEFAULT_RESOURCE}

#: each view helper's doctest: (setup lines, the call's arguments, the check, its result)
VIEW_EXAMPLES: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "tasks_tracking": (
        ('hub = sb.store.values("hubs")[0]["_id"]',),
        'hubId=hub, timeFrom="2026-01-01", timeTo="2027-01-01"',
        "df.index.name, str(df['doneTask'].dtype)",
        "('email', 'Int64')",
    ),
    "location_tracking": (
        (
            'body = {"email": "admin@demo.mile.app"}',
            'token = c.request("POST", "/location-history/generate-token", json=body)'
            '.body["token"]',
        ),
        "token",
        "df.index.name, str(df['lat'].dtype)",
        "('_id', 'Float64')",
    ),
    "workflow_activities": (
        ('wf = sb.store.values("activities")[0]["workflowId"]',),
        "wf",
        "df.index.name, len(df)",
        "('_id', 1)",
    ),
    "routing_result_history": (
        ('result = sb.store.values("routing_results")[0]["_id"]',),
        "result",
        "df.index.name, set(df['resultId']) <= {result}",
        "('_id', True)",
    ),
    "flow_components_view": ((), "", "list(df.columns[:3])", "['flowId', 'flowName', 'id']"),
    "flow_fields_by_name": (
        (),
        '"Pickup"',
        "df.index.tolist()",
        "['senderName', 'parcelCount', 'pickupNotes']",
    ),
    "flow_task_template": (
        (),
        '"Pickup"',
        "df.index.tolist(), str(df['parcelCount'].dtype)",
        "(['Pickup'], 'Float64')",
    ),
    "me": ((), "", "df['email'].tolist()", "['admin@demo.mile.app']"),
    "public_task": (
        ('todo = [t["_id"] for t in sb.store.values("tasks") if t["status"] != "DONE"]',),
        "todo[0]",
        "df.index.tolist() == todo[:1], str(df['status'].dtype)",
        "(True, 'category')",
    ),
}

#: what one row is, for the first docstring line
NOUNS: dict[str, str] = {
    "tasks": "task",
    "tasks_gallery": "task with photos (the gallery)",
    "task_schedules": "task schedule",
    "activities": "activity (workflow master task)",
    "location_histories": "location-history point",
    "flows": "flow",
    "flow_logs": "flow change log entry",
    "flow_fields": "flow's field list",
    "automations": "automation",
    "automation_logs": "automation log entry",
    "data": "data-source record",
    "data_types": "data type",
    "vehicles": "vehicle",
    "routing_results": "routing result",
    "users": "user",
    "locked_members": "locked member",
    "teams": "team",
    "roles": "role",
    "hubs": "hub",
    "export_configs": "export config",
    "export_logs": "export log entry",
    "import_monitoring": "import record",
    "plugins": "plugin",
    "app_integrations": "app integration",
}

#: the helper's own keyword arguments (no filter may take these names)
OPTIONS = ("client", "progress", "limit", "flatten", "split_coordinates", "resume")
#: a view's path parameter: one value or several (one read each)
PATH_TYPE = "str | Sequence[str]"

HEADER = '''"""Named frame helpers, one per readable resource, child table and view. DO NOT EDIT.

Generated by ``tools/gen_frames.py`` from :mod:`milekit.types.registry`; rerun it after the
registry changes (``tests/reads/test_frames_all.py`` fails on a stale module). Each helper is
:func:`milekit.frame` of a resource, a child table or a view, with the
resource's documented list filters (the view's parameters) as keyword parameters.
"""

# ruff: noqa: E501

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

from milekit.errors import IncompleteReadError
from milekit.reads.dispatch import frame
from milekit.reads.table import Backend
from milekit.wire.client import Client

#: one value, or several (sent as a comma-separated list)
Text = str | Sequence[str]
#: a date/time filter: a datetime (naive = UTC), a date, or text ("2026-10-01 07:00:00")
When = str | dt.datetime | dt.date


def _given(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v is not None}

'''


def _first_sentence(doc: str, limit: int = 110) -> str:
    doc = " ".join(doc.split())
    doc = doc.replace("`", "'")
    m = re.match(r"(.+?[.!?])\s+[A-Z]", doc)  # a sentence ends before a capital
    text = m.group(1) if m else doc
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _filter_type(query: Filters, name: str) -> str:
    kind = query.kind(name)
    if kind in ("datetime", "date"):
        return "When | None"
    if kind == "bool":
        return "bool | str | None"
    return "Text | None"


def _filter_doc(query: Filters, rows: RowSchema, name: str) -> str:
    doc = _first_sentence(query.docs[name]) or name
    f = rows.get(name)
    if f is not None and f.enum:
        if all(e in doc for e in f.enum):
            doc = doc.rstrip(".") + " (one or more, any case)."
        else:
            doc = doc.rstrip(".") + f"; one or more of {', '.join(f.enum)} (any case)."
    if query.kind(name) in ("datetime", "date"):
        doc += " (naive = UTC)"
    return doc


def _filters(query: Filters) -> list[str]:
    out = []
    for name in query.docs:
        if not name.isidentifier() or keyword.iskeyword(name) or name in OPTIONS:
            raise SystemExit(f"{query.owner}: filter {name!r} cannot be a keyword parameter")
        out.append(name)
    return out


def _columns_doc(rows: RowSchema) -> list[str]:
    dtypes = dtypes_of(rows)
    items = [f"``{n}`` ``{t}``" for n, t in dtypes.items() if n not in rows.secret_fields]
    text = "Documented columns: " + ", ".join(items) + "."
    return textwrap.wrap(text, 88, break_on_hyphens=False)


def _wrap(text: str, indent: str, hang: str = "") -> list[str]:
    lines = textwrap.wrap(text, 92 - len(indent), subsequent_indent=hang, break_on_hyphens=False)
    return lines or [""]


def _doc_example(call: str, check: str, expect: str) -> list[str]:
    return [
        ">>> import milekit",
        ">>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:",
        f"...     df = {call}",
        f">>> {check}",
        expect,
    ]


#: an example value of a resource's group keyword (a data type of the sandbox's demo org)
GROUP_EXAMPLES = {"data_type": "Store"}


def _keyword(spec: ResourceSpec) -> str:
    """The keyword that picks the resource's groups by name or id (``data_type``), or ""."""
    return spec.custom.keyword if spec.custom is not None else ""


def _example_for(helper: str, spec: ResourceSpec) -> list[str]:
    kw = _keyword(spec)
    extra = f', {kw}="{GROUP_EXAMPLES[kw]}"' if kw else ""
    call = f"milekit.{helper}(client=c, progress=False{extra})"
    return _doc_example(call, "df.index.name", repr(spec.id_field))


def resource_helper(helper: str, spec: ResourceSpec) -> str:
    filters = _filters(spec.query)
    noun = NOUNS.get(spec.name, spec.name)
    kw = _keyword(spec)
    params = ["    *,"]
    if kw:
        params.append(f"    {kw}: str | None = None,")
    params += [f"    {n}: {_filter_type(spec.query, n)} = None," for n in filters]
    params += [
        "    client: Client | None = None,",
        "    progress: bool | None = None,",
        "    limit: int | None = None,",
        "    flatten: bool = False,",
        "    split_coordinates: bool = False,",
        "    resume: IncompleteReadError | None = None,",
        '    dtype_backend: Backend = "numpy_nullable",',
    ]
    ind = "    "
    doc: list[str] = [
        f"Every {noun} as a typed DataFrame indexed by ``{spec.id_field}`` "
        f"(``GET {spec.list_path}``).",
        "",
        *_example_for(helper, spec),
        "",
    ]
    if kw and spec.custom is not None:
        c, source = spec.custom, registry.get(spec.custom.source)
        doc += _wrap(
            f"``{kw}``: the rows of one {c.label}, by name or id (sent as ``{c.by_name}`` or "
            f"``{c.by_id}``); its fields become columns typed from the {c.label}'s definition "
            f"(``GET {source.list_path}``).",
            ind,
        )
        doc.append("")
    if spec.custom is registry.FLOW_COMPONENTS:
        doc += _wrap(
            "Each flow's components are columns typed from the flow (``GET /flows``); "
            'with ``flow="Delivery"`` exactly that flow\'s columns; ``milekit.flow_columns'
            "(df)`` maps each flow to its columns.",
            ind,
        )
        doc.append("")
    if filters or kw:
        doc.append("Filters (checked before anything is sent; ``None`` leaves one out):")
        doc.append("")
        for n in filters:
            line = f"* ``{n}``: {_filter_doc(spec.query, spec.rows, n)}"
            doc += _wrap(line, ind, "  ")
    else:
        doc.append("The list takes no filters.")
    doc.append("")
    doc += _wrap(
        "Options: ``client``, ``progress``, ``limit`` (rows per request, at most "
        f"{spec.max_limit}), ``flatten``, ``split_coordinates``, ``resume`` (finish a read "
        'that lost pages: ``resume=err``), ``dtype_backend`` (``"pyarrow"``: every '
        "column an ArrowDtype): see ``milekit.frame``.",
        ind,
    )
    doc.append("")
    doc += _columns_doc(spec.rows)
    body_doc = _docstring(doc, ind)
    args = ", ".join(f"{n}={n}" for n in ([kw] if kw else []) + filters)
    given = f"_given(dict({args}))" if args else "{}"
    lines = [f"def {helper}(", *params, ") -> pd.DataFrame:", body_doc]
    lines += [
        "    df: pd.DataFrame = frame(",
        f"        {spec.name!r},",
        "        client=client,",
        "        progress=progress,",
        "        limit=limit,",
        "        flatten=flatten,",
        "        split_coordinates=split_coordinates,",
        "        resume=resume,",
        "        dtype_backend=dtype_backend,",
        f"        **{given},",
        "    )",
        "    return df",
    ]
    return "\n".join(lines) + "\n"


def table_helper(helper: str, spec: ResourceSpec) -> str:
    """``<resource>_table()``: the resource as a pyarrow.Table (``frame(to="arrow")``)."""
    noun = NOUNS.get(spec.name, spec.name)
    doc = [
        f'Every {noun} as a ``pyarrow.Table``: ``milekit.frame({spec.name!r}, to="arrow")``.',
        "",
        *_doc_example(
            f"milekit.{helper}(client=c, progress=False)",
            "df.num_rows, df.column_names[0]",
            f"(10, {spec.id_field!r})",
        ),
        "",
        *_wrap(
            "The columns and their Arrow types are those of the frame (the id a column); "
            "no pandas object or Python value is built. Filters: those of "
            f"``{_helper_of(spec.name)}``.",
            "    ",
        ),
    ]
    return (
        "\n".join(
            [
                f"def {helper}(",
                "    *,",
                "    client: Client | None = None,",
                "    progress: bool | None = None,",
                "    limit: int | None = None,",
                "    **filters: Any,",
                ") -> pa.Table:",
                _docstring(doc, "    "),
                "    table: pa.Table = frame(",
                f"        {spec.name!r},",
                '        client=client, progress=progress, limit=limit, to="arrow", **filters,',
                "    )",
                "    return table",
            ]
        )
        + "\n"
    )


def _helper_of(name: str) -> str:
    return next(h for h, n in RESOURCE_HELPERS.items() if n == name)


def child_helper(helper: str, child: ChildSpec) -> str:
    parent = registry.get(child.parent)
    filters = _filters(parent.query)
    params = ["    *,"]
    params += [f"    {n}: {_filter_type(parent.query, n)} = None," for n in filters]
    params += [
        "    client: Client | None = None,",
        "    progress: bool | None = None,",
        "    limit: int | None = None,",
        '    dtype_backend: Backend = "numpy_nullable",',
    ]
    ind = "    "
    check = "list(df.columns[:1])"
    doc: list[str] = [
        *_wrap(
            f"{_first_sentence(child.doc, 200).rstrip('.').capitalize()}: one row per "
            f"element of ``{'.'.join(child.path)}`` in every "
            f"{NOUNS.get(parent.name, parent.name)}, keyed by ``{child.key}``.",
            ind,
        ),
        "",
        *_doc_example(f"milekit.{helper}(client=c, progress=False)", check, repr([child.key])),
        "",
    ]
    doc += _wrap(
        f"Columns: {', '.join(f'``{c}``' for c in child.columns)}. Reads "
        f"``GET {parent.list_path}`` "
        + ("asking for the array with ``fields=``" if "fields" in parent.filters else "")
        + f"; from a {parent.name} frame you have: ``milekit.children(df, "
        f"{child.path[-1]!r})``. ``dtype_backend``: see ``milekit.frame``.",
        ind,
    )
    doc.append("")
    if filters:
        doc.append(f"Filters of {parent.name} (checked before anything is sent):")
        doc.append("")
        for n in filters:
            doc += _wrap(f"* ``{n}``: {_filter_doc(parent.query, parent.rows, n)}", ind, "  ")
    body_doc = _docstring(doc, ind)
    args = ", ".join(f"{n}={n}" for n in filters)
    given = f"_given(dict({args}))" if filters else "{}"
    lines = [
        f"def {helper}(",
        *params,
        ") -> pd.DataFrame:",
        body_doc,
        "    df: pd.DataFrame = frame(",
        f"        {child.name!r},",
        "        client=client,",
        "        progress=progress,",
        "        limit=limit,",
        "        dtype_backend=dtype_backend,",
        f"        **{given},",
        "    )",
        "    return df",
    ]
    return "\n".join(lines) + "\n"


def view_helper(helper: str, v: ViewSpec) -> str:
    assert v.rows is not None and v.query is not None
    rows, query = v.rows, v.query
    filters = _filters(query)
    params = [f"    {p}: {PATH_TYPE}," for p in v.path_params]
    params.append("    *,")
    for n in filters:
        if n in v.required:
            params.append(f"    {n}: {_filter_type(query, n).removesuffix(' | None')},")
    for n in filters:
        if n not in v.required:
            params.append(f"    {n}: {_filter_type(query, n)} = None,")
    params += [
        "    client: Client | None = None,",
        "    progress: bool | None = None,",
        "    flatten: bool = False,",
        "    split_coordinates: bool = False,",
        "    resume: IncompleteReadError | None = None,",
        '    dtype_backend: Backend = "numpy_nullable",',
    ]
    ind = "    "
    setup, args, check, expect = VIEW_EXAMPLES[v.name]
    call_args = ", ".join(a for a in (args, "client=c") if a)
    index = f"indexed by ``{v.index}``" if v.index else "with a range index"
    doc: list[str] = [
        *_wrap(f"{v.doc[:1].upper()}{v.doc[1:]} (``GET {v.path}``).", ind),
        "",
        ">>> import milekit",
        ">>> with milekit.Sandbox(tasks=10) as sb, milekit.Client(sb.token, sb.url) as c:",
        *(f"...     {line}" for line in setup),
        f"...     df = milekit.{helper}({call_args})",
        f">>> {check}",
        expect,
        "",
    ]
    like = (
        f"typed like ``{v.like}`` (the same dtype for the same column)"
        if v.like
        else ("typed from the registry (``milekit.types.registry.VIEWS``)")
    )
    doc += _wrap(f"A typed DataFrame {index}, {like}.", ind)
    doc.append("")
    if v.path_params:
        doc += _wrap(
            f"{', '.join(f'``{p}``' for p in v.path_params)}: one value, or a list (one "
            "read each, concurrently; the rows together).",
            ind,
        )
        doc.append("")
    if filters:
        doc.append("Filters (checked before anything is sent):")
        doc.append("")
        for n in filters:
            req = " (required)" if n in v.required else ""
            doc += _wrap(f"* ``{n}``{req}: {_filter_doc(query, rows, n)}", ind, "  ")
        doc.append("")
    doc += _wrap(
        "Options: ``client``, ``progress``, ``flatten``, ``split_coordinates``, "
        "``dtype_backend``: see ``milekit.frame``.",
        ind,
    )
    doc.append("")
    doc += _columns_doc(rows)
    body_doc = _docstring(doc, ind)
    named = [f"{p}={p}" for p in v.path_params] + [f"{n}={n}" for n in filters]
    lines = [
        f"def {helper}(",
        *params,
        ") -> pd.DataFrame:",
        body_doc,
        "    df: pd.DataFrame = frame(",
        f"        {v.name!r},",
        "        client=client,",
        "        progress=progress,",
        "        flatten=flatten,",
        "        split_coordinates=split_coordinates,",
        "        resume=resume,",
        "        dtype_backend=dtype_backend,",
        f"        **_given(dict({', '.join(named)})),",
        "    )",
        "    return df",
    ]
    return "\n".join(lines) + "\n"


def _docstring(lines: list[str], ind: str) -> str:
    body = "\n".join((ind + ln) if ln else "" for ln in lines)
    return f'{ind}"""{body[len(ind) :]}\n{ind}"""'


def generate() -> str:
    parts = [HEADER]
    for helper, name in RESOURCE_HELPERS.items():
        parts.append(resource_helper(helper, registry.get(name)))
    for helper, name in CHILD_HELPERS.items():
        parts.append(child_helper(helper, registry.get_child(name)))
    for helper, name in VIEW_HELPERS.items():
        parts.append(view_helper(helper, registry.get_view(name)))
    for helper, name in TABLE_HELPERS.items():
        parts.append(table_helper(helper, registry.get(name)))
    TABLES = ["RESOURCE_HELPERS", "CHILD_HELPERS", "VIEW_HELPERS", "TABLE_HELPERS"]
    what = ("resource", "child table", "view", "resource, read as a pyarrow.Table")
    for title, of, helpers in zip(TABLES, what, _helper_tables(), strict=True):
        items = "\n".join(f"    {h!r}: {n!r}," for h, n in helpers.items())
        parts.append(f"#: helper name -> {of}\n{title}: dict[str, str] = {{\n{items}\n}}\n")
    every = "\n".join(f"    {h!r}," for h in _helper_names())
    parts.append(
        "#: every helper's name, in the order docs/public-api.md lists them (the end of "
        f"milekit.__all__)\nHELPERS: tuple[str, ...] = (\n{every}\n)\n\n"
        f"__all__ = {sorted(['HELPERS', *TABLES, *_helper_names()])!r}\n"
    )
    return ruff_format("\n\n".join(parts), OUTPUT)


def _helper_tables() -> tuple[dict[str, str], ...]:
    return RESOURCE_HELPERS, CHILD_HELPERS, VIEW_HELPERS, TABLE_HELPERS


def _helper_names() -> list[str]:
    return [h for helpers in _helper_tables() for h in helpers]


#: the lead of each list of helpers in docs/public-api.md, in the order of _helper_tables()
DOC_LEADS = (
    "One per readable resource (the resource's list filters as keyword parameters):",
    "One per child table (`frame(name)` of the table; the parent's filters):",
    "One per view (`frame(name)` of the view; its path parameters and filters):",
    'The tasks as a `pyarrow.Table` (`frame("tasks", to="arrow")`; `to="polars"` gives a '
    "Polars frame):",
)


def public_api_doc(current: str) -> str:
    """docs/public-api.md with its "Named helpers" section (the last) written afresh."""
    head, found, _ = current.partition(DOC_SECTION)
    if not found:
        raise SystemExit(f"{DOC}: no {DOC_SECTION.strip()!r} section to rewrite")
    lines = [
        DOC_SECTION.rstrip(),
        "",
        "<!-- written by tools/gen_frames.py: do not edit by hand -->",
    ]
    for lead, helpers in zip(DOC_LEADS, _helper_tables(), strict=True):
        lines += ["", lead, "", ", ".join(f"`{h}`" for h in helpers)]
    return head + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    p.add_argument("--output", type=Path, default=OUTPUT)
    args = p.parse_args(argv)
    wanted = {args.output: generate()}
    if args.output == OUTPUT:  # the page goes with the committed module only
        wanted[DOC] = public_api_doc(DOC.read_text())
    for path, text in wanted.items():
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        if not args.check:
            path.write_text(text)
            print(f"wrote {shown}")
        elif path.read_text() != text:
            print(f"stale: run python tools/gen_frames.py ({shown})", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
