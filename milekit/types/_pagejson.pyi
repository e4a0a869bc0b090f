"""Type stub for the C page decoder (milekit/types/native/pagejson.c)."""

from collections.abc import Sequence
from typing import Any

def decode(
    content: bytes, envelope: str, rows_key: str, hints: Sequence[tuple[str, int]]
) -> tuple[Any, Any, int | None, int | None]: ...
