"""Type stub for the C page decoder (milekit/types/native/pagejson.c)."""

from collections.abc import Sequence
from typing import Any

#: Containers (arrays, objects) a row's field may nest, its own counted.
MAX_DEPTH: int
#: Distinct keys one object column (the rows, or any object field) may have.
MAX_COLUMNS: int
#: The kinds a hint may give a field (``milekit.types.kinds.Kind.native`` names them).
KIND_BOOL: int
KIND_INT: int
KIND_FLOAT: int
KIND_STRING: int
KIND_LIST: int

class PageError(Exception):
    """A page no reader should be given (too deep, too many keys, a NUL in a key, columns
    far larger than the page). Not a ValueError: a ValueError means "Arrow's reader may
    take it"."""

def decode(
    content: bytes, envelope: str, rows_key: str, hints: Sequence[tuple[str, int]]
) -> tuple[Any, Any, int | float | None, int | float | None, tuple[str, ...]]:
    """(schema capsule, array capsule, total, last_page, demoted): ``demoted`` names the
    row fields whose values did not fit one column, left as JSON text (one per value)."""
