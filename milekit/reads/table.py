"""What every reader of :mod:`milekit.reads` shares: how a read is asked for and delivered.

>>> t = pa.table({"_id": ["a", "b", "a"]})
>>> Out("arrow").deliver(one_per_id(t, "_id"), "hubs", {}).num_rows
2

``frame(name, ...)`` (:mod:`milekit.reads.dispatch`) hands its options to one reader per
kind of table (a resource's list: :mod:`milekit.reads.frames`; a view:
:mod:`milekit.reads.views`; a child table: :mod:`milekit.reads.children`), each a
:class:`Reader`: a function of the registry name and the :class:`ReadOptions`. They all end
in :meth:`Out.deliver`; the typed empty table, one row per id and the garbage collector's
pause are here too, below all of them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from milekit import errors
from milekit.errors import UsageError
from milekit.reads import flat as _flat
from milekit.types import schema
from milekit.types.registry import RowSchema
from milekit.wire.client import Client

#: the metadata key of the frame's ``df.attrs["milekit"]`` in a table or a file's footer
#: (its snapshot token left out)
ATTRS_KEY = b"milekit.attrs"
#: the metadata key of the resource a table or file holds
RESOURCE_KEY = b"milekit.resource"
#: what a read returns (``frame(to=...)``)
Output = Literal["pandas", "arrow", "polars"]
#: how a pandas frame holds its columns (``frame(dtype_backend=...)``)
Backend = Literal["numpy_nullable", "pyarrow"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a frame's cells are built.

    A big read creates millions of lists and dicts (list and object cells) and none of
    them in a reference cycle: the collector would re-scan the growing heap again and
    again for nothing (about a fifth of the CPU of a 200k-row read). Refcounting still
    frees everything as usual; the previous state is restored on exit (objects made
    meanwhile join the oldest generation, unless the process froze objects itself).

    >>> import gc
    >>> with gc_paused():
    ...     gc.isenabled()
    False
    >>> gc.isenabled()
    True
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if gc.get_freeze_count() == 0:
                # Hand what was allocated meanwhile to the oldest generation (freeze, then
                # unfreeze: two list splices). Re-enabled as it is, the collector would
                # first scan all of it as "young" (~0.15 s for 200k rows) for nothing;
                # in the oldest generation it is looked at by the rare full collections
                # only, and anything cyclic in it is still collected then.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


@dataclass(frozen=True)
class Out:
    """What a read returns: the output kind and how a pandas frame is built; checked
    when made (a bad option is a UsageError before anything is sent). Resources, views
    and child tables all end in :meth:`deliver`.

    >>> Out("arrow").deliver(pa.table({"k": ["a"]}), "me", {"view": "me"}).column_names
    ['k']
    >>> Out("excel")
    Traceback (most recent call last):
    ...
    milekit.errors.UsageError: to= is 'pandas', 'arrow' or 'polars', not 'excel'
    """

    to: Output = "pandas"
    backend: Backend = "numpy_nullable"
    flatten: bool = False
    split_coordinates: bool = False

    def __post_init__(self) -> None:
        if self.to not in ("pandas", "arrow", "polars"):
            raise UsageError(f"to= is 'pandas', 'arrow' or 'polars', not {self.to!r}")
        if self.backend not in ("numpy_nullable", "pyarrow"):
            raise UsageError(
                f"dtype_backend= is 'numpy_nullable' or 'pyarrow', not {self.backend!r}"
            )
        if self.to != "pandas" and (self.flatten or self.split_coordinates):
            raise UsageError("flatten= and split_coordinates= shape pandas frames: use to='pandas'")

    @property
    def cells(self) -> bool:
        """Whether pages keep Python values of nested columns (numpy-backed pandas only)."""
        return self.to == "pandas" and self.backend == "numpy_nullable"

    def deliver(
        self,
        table: pa.Table,
        name: str,
        attrs: dict[str, Any],
        index: str | None = None,
        rows: RowSchema | None = None,
    ) -> Any:
        """The finished typed ``table`` of ``name`` (a resource, view or child table) as
        asked: a pandas frame indexed by ``index`` with ``attrs``, flattened by ``rows``;
        else :meth:`arrow`."""
        if not self.cells:
            return self.arrow(table, name, attrs, index)
        df = schema.to_pandas(table, index=index)
        df.attrs["milekit"] = attrs
        return self.shaped(df, rows)

    def shaped(self, df: pd.DataFrame, rows: RowSchema | None) -> pd.DataFrame:
        """``df`` flattened as asked (``flatten=``, ``split_coordinates=``)."""
        if not (self.flatten or self.split_coordinates):
            return df
        objects, coordinates = self.flatten, self.split_coordinates
        return _flat.flatten(df, objects=objects, coordinates=coordinates, rows=rows)

    def arrow(self, table: pa.Table, name: str, attrs: dict[str, Any], index: str | None) -> Any:
        """The read as an Arrow table, a Polars frame or an ArrowDtype-backed pandas
        frame (indexed by ``index``); the frame's attrs travel in the table's metadata
        (``milekit.attrs``), its name in ``milekit.resource``."""
        table = table.replace_schema_metadata(
            {RESOURCE_KEY: name.encode(), ATTRS_KEY: orjson.dumps(attrs)}
        )
        if self.to == "arrow":
            return table
        if self.to == "polars":
            try:
                import polars as pl
            except ImportError:
                raise UsageError("to='polars' needs Polars: pip install polars") from None
            return pl.from_arrow(table)
        df = table.to_pandas(types_mapper=pd.ArrowDtype)
        if index is not None and index in df.columns:
            df = df.set_index(index)
        df.attrs["milekit"] = attrs
        return df


@dataclass(frozen=True)
class ReadOptions:
    """What ``frame(name, ...)`` was asked besides the name, for the reader of that name's
    kind (a resource, a view, a child table).

    >>> ReadOptions(Out()).limit is None
    True
    """

    out: Out
    client: Client | None = None
    progress: bool | None = None
    limit: int | None = None
    resume: errors.IncompleteReadError | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)

    def refuse_resume(self, name: str) -> None:
        """``resume=`` continues a resource's list only: a UsageError for ``name``."""
        if self.resume is not None:
            raise UsageError(f"resume= continues a read of a resource's list, not of {name}")


class Reader(Protocol):
    """The reader of one kind of table: ``reader(name, options)`` is the typed frame (or
    table, as ``options.out`` says) of the registry's ``name``; ``frame()`` picks the reader
    by the registry's kind of the name."""

    def __call__(self, name: str, options: ReadOptions, /) -> Any:
        """The read of ``name`` as ``options`` say."""
        ...


def one_per_id(
    table: pa.Table, id_field: str, keep: Literal["first", "last"] = "first"
) -> pa.Table:
    """``table`` with one row per id, the ``keep`` one of each (offset pagination while the
    data changes repeats rows; the lists of one sync run overlap); the order is kept.

    >>> t = pa.table({"_id": ["a", "b", "a"], "n": [1, 2, 3]})
    >>> [one_per_id(t, "_id", keep)["n"].to_pylist() for keep in ("first", "last")]
    [[1, 2], [2, 3]]
    """
    if id_field not in table.column_names or not may_repeat(table, id_field):
        return table
    ids = table.column(id_field).to_pylist()
    order = range(len(ids)) if keep == "first" else range(len(ids) - 1, -1, -1)
    seen: set[Any] = set()
    chosen = []
    for i in order:
        if ids[i] not in seen:
            seen.add(ids[i])
            chosen.append(i)
    return table.take(pa.array(sorted(chosen), pa.int64()))


def may_repeat(table: pa.Table, column: str) -> bool:
    """Could ``column`` hold a value twice? Arrow's hash count answers "no" for a 200k-row
    read in a fifth of the time pandas takes to build the index's hash table.

    >>> [may_repeat(pa.table({"_id": ids}), "_id") for ids in (["a", "b"], ["a", "a"])]
    [False, True]
    """
    if column not in table.column_names:
        return True
    return bool(pc.count_distinct(table.column(column), mode="all").as_py() != table.num_rows)


def empty_table(rows: RowSchema, columns: Sequence[str] | None = None) -> pa.Table:
    """The typed table of a list without rows: every documented (or asked-for) column.

    >>> from milekit.types import registry
    >>> t = empty_table(registry.get("hubs").rows)
    >>> t.num_rows, t.schema.field("lat").type
    (0, DataType(double))
    """
    names = list(columns) if columns is not None else [*rows.field_names]
    if rows.id_field and rows.id_field not in names:
        names.insert(0, rows.id_field)
    names = [n for n in names if n not in rows.secret_fields]
    return schema.rows_to_table([], rows, names)
