"""One row per field type (milekit/types/kinds.py), the C decoder's kind codes, and the
registry built once into read-only mappings."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pyarrow as pa
import pytest

from milekit.types import dtypes, encode, kinds, registry, schema
from milekit.types.kinds import KINDS, Kind
from milekit.types.model import Field, FieldType

F = FieldType

#: one value of each type, as the API sends it
SAMPLES: dict[FieldType, Any] = {
    F.STRING: "a",
    F.INTEGER: 7,
    F.FLOAT: 1.5,
    F.BOOLEAN: True,
    F.DATETIME: "2024-10-07 07:44:18",
    F.TIME: "8:34",
    F.DATE: "2024-10-07",
    F.ENUM: "DONE",
    F.OBJECT: {"a": 1},
    F.ARRAY_STRING: ["x", "y"],
    F.ARRAY_OBJECT: [{"a": 1}],
    F.JSON: {"free": [1, "form"]},
}


def test_every_field_type_has_one_kind() -> None:
    assert set(KINDS) == set(FieldType) == set(SAMPLES)
    assert all(isinstance(k, Kind) and k.type == t for t, k in KINDS.items())
    with pytest.raises(TypeError):
        KINDS[F.STRING] = KINDS[F.INTEGER]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        KINDS[F.STRING].seconds = True  # type: ignore[misc]


@pytest.mark.parametrize("ft", list(FieldType), ids=lambda t: t.value)
def test_a_kind_parses_to_its_arrow_type_and_dtype(ft: FieldType) -> None:
    kind = KINDS[ft]
    arr, got = kind.parse([SAMPLES[ft], None])
    assert got == ft
    if kind.arrow is not None:
        assert arr.type == kind.arrow
    meta = kinds.field_meta(got)
    table = pa.Table.from_arrays([arr], schema=pa.schema([pa.field("c", arr.type, metadata=meta)]))
    assert str(dtypes.to_pandas(table)["c"].dtype) == str(kind.dtype)


@pytest.mark.parametrize(
    "ft", [t for t, k in KINDS.items() if k.raw is not None], ids=lambda t: t.value
)
def test_a_kinds_raw_column_is_typed_as_the_python_path_types_it(ft: FieldType) -> None:
    """A page read with the kind's raw JSON type ends as its Arrow type, as rows do."""
    kind = KINDS[ft]
    raw = pa.array([SAMPLES[ft], None], kind.raw)
    typed, got = schema._type_arrow(raw, Field("c", ft))
    assert got == ft and typed.equals(kind.parse([SAMPLES[ft], None])[0])


@pytest.mark.parametrize("ft", list(FieldType), ids=lambda t: t.value)
def test_canonical_wire_and_display_round(ft: FieldType) -> None:
    c = encode.canonical(SAMPLES[ft], ft, ["DONE"])
    assert encode.canonical(encode.wire(c, ft), ft, ["DONE"]) == c
    assert encode.display(None, ft) is None and encode.wire(None, ft) is None
    if KINDS[ft].seconds:
        assert encode.coarse(c + 1, ft) == encode.coarse(c, ft)


def test_the_c_decoders_kind_codes_come_from_the_c_module() -> None:
    """The numbers live in C alone: each kind's hint names an exported ``KIND_*``, and
    the page parser sends those."""
    if not schema.NATIVE:
        if os.environ.get("MILEKIT_REQUIRE_NATIVE"):
            pytest.fail("the C page decoder is not built")
        pytest.skip("no C page decoder on this install")
    exported = {n: getattr(schema._pagejson, n) for n in dir(schema._pagejson)}
    codes = {n[5:]: v for n, v in exported.items() if n.startswith("KIND_")}
    assert set(codes) == {"BOOL", "INT", "FLOAT", "STRING", "LIST"}
    assert len(set(codes.values())) == len(codes)
    hinted = {k.native for k in KINDS.values() if k.raw is not None}
    assert hinted <= set(codes) and all((k.raw is None) == (not k.native) for k in KINDS.values())
    fields = tuple(Field(t.value, t) for t in FieldType)
    rows = registry.RowSchema("xs", fields)
    hints = dict(schema.PageParser(rows, registry.TASKS.listing)._hints)
    assert hints == {f.name: codes[KINDS[f.type].native] for f in fields if KINDS[f.type].native}


def test_the_registry_is_built_once_into_read_only_mappings() -> None:
    assert registry.TASKS is registry.RESOURCES["tasks"]
    assert registry.RESOURCES["tasks_gallery"].fields == registry.TASKS.fields
    assert all(c.rows is not None for c in registry.CHILDREN.values())
    assert all(v.rows is not None and v.query is not None for v in registry.VIEWS.values())
    for mapping in (registry.RESOURCES, registry.CHILDREN, registry.VIEWS, registry.NOT_FRAMES):
        with pytest.raises(TypeError):
            mapping["x"] = None  # type: ignore[index]


def test_overridden_replaces_a_resource_for_a_while() -> None:
    small = dataclasses.replace(registry.TASKS, bulk_max=3)
    with registry.overridden(tasks=small):
        assert registry.get("tasks") is small and registry.RESOURCES["tasks"] is small
        assert list(registry.RESOURCES).count("tasks") == 1
    assert registry.get("tasks") is registry.TASKS
