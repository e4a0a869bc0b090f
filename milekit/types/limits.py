"""The limits a list page is held to before any JSON reader sees it.

>>> check_page(b'{"tasks": {"data": [{"title": "a \\\\"quoted\\\\" [title]"}]}}')
>>> check_page(b'{"tasks": {"data": [{"d": ' + b"[" * 40 + b"]" * 40 + b"}]}}")
Traceback (most recent call last):
...
milekit.types.limits.PageLimitError: a value nested deeper than 32 levels

A server, a proxy or an attacker can send a page that is valid JSON and still takes a
reader down: nested ten thousand levels deep (Arrow's JSON reader overflows its stack and
the process dies), or twenty thousand rows each with a key of its own (every new column is
filled with a null for every row: a 0.6 MB page grew to several GB). The C page decoder
enforces these limits itself while it parses (``_pagejson.MAX_DEPTH``,
``_pagejson.MAX_COLUMNS``); every page it did not decode passes :func:`check_page` before
Arrow's reader or ``orjson`` gets it. The scan is linear in the page's bytes and makes no
Python object per value (numpy over the raw bytes, Arrow's hash for the key count).

The limits (docs/performance.md, "Limits a page is held to"):

- nesting: at most :data:`MAX_DEPTH` levels of objects and lists in a row's field (36
  from the page's root: root, paginator, ``data`` list and row come first);
- keys: at most :data:`MAX_KEYS` distinct object keys in one page (every level counted),
  and no more cells than 2**20 plus :data:`CELLS_PER_BYTE` per byte of the page, taking
  every key for a column and every object for a row of it (a sparse page's columns
  would otherwise outgrow it a thousandfold);
- text: the page is UTF-8 (JSON's only encoding), its root is a JSON object, no key holds
  a NUL character (``\\u0000``; Arrow's column names cannot) and no number is ``NaN`` or
  ``Infinity`` (not JSON, though Arrow's reader takes them).
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["CELLS_PER_BYTE", "MAX_DEPTH", "MAX_KEYS", "PageLimitError", "check_page", "page_number"]

#: Deepest nesting of a value in a row's field (the field's own array or object counted),
#: as the C decoder counts it (``_pagejson.MAX_DEPTH``): Arrow imports at most 64 levels of
#: nested columns; the deepest real rows nest 6. From the page's root that is 4 more
#: (root, paginator, ``data`` list, row).
MAX_DEPTH = 32
_ROOT = 4
#: Most distinct object keys one page may use (a real task page of 1,000 rows: ~120).
MAX_KEYS = 4096
#: Most cells (one per column per object) a page's columns may take: every key a column,
#: every object a row of it, each filled with nulls where it lacks the key. As the C
#: decoder bounds it: 2**20 plus 4 per byte of the page.
CELLS_PER_BYTE, _CELLS_FLOOR = 4, 2**20

_IS_WHITESPACE = np.zeros(256, np.bool_)
_IS_WHITESPACE[[ord(c) for c in " \t\r\n"]] = True
_QUOTE, _COLON, _BACKSLASH = ord('"'), ord(":"), ord("\\")
_U0000 = np.frombuffer(b"u0000", np.uint8)


class PageLimitError(ValueError):
    """A page that breaks one of the limits: no reader is given it."""


def check_page(content: bytes) -> None:
    """Raise :class:`PageLimitError` unless ``content`` is UTF-8 text of a JSON object
    within :data:`MAX_DEPTH` and :data:`MAX_KEYS` (the JSON itself is not validated: the
    reader does that)."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PageLimitError(f"the answer is not UTF-8 text (byte {e.start})") from None
    if not content.lstrip()[:1] == b"{":
        raise PageLimitError("the answer is not a JSON object")
    raw = np.frombuffer(content, np.uint8)
    quotes = _string_quotes(raw, has_escapes=b"\\" in content)
    opens = _check_depth(raw, quotes)
    objects = int(np.count_nonzero(raw[opens] == ord("{")))
    _check_keys(content, raw, quotes, objects)
    _check_numbers(content, raw, quotes)


def _string_quotes(raw: np.ndarray, has_escapes: bool) -> np.ndarray:
    """The positions of the quotes that open or close a string (an escaped quote, after
    an odd run of backslashes, does neither)."""
    quotes = np.flatnonzero(raw == _QUOTE)
    if not has_escapes or not len(quotes):
        return quotes
    after = quotes[quotes > 0]
    after = after[raw[after - 1] == _BACKSLASH]  # quotes right after a backslash
    if not len(after):
        return quotes
    run = after - _run_start(np.flatnonzero(raw == _BACKSLASH), after - 1)
    return np.asarray(np.setdiff1d(quotes, after[(run & 1) == 1], assume_unique=True))


def _run_start(slashes: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each backslash position ``at``, where its run of backslashes (``slashes``: all
    of the page's) begins: an escape starts at an even distance from it."""
    starts = slashes[np.r_[0, np.flatnonzero(np.diff(slashes) != 1) + 1]]
    return np.asarray(starts[np.searchsorted(starts, at, side="right") - 1])


def _check_depth(raw: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The positions of the opening brackets outside strings; refused past the depth."""
    # "[" and "{" are 0x5B and 0x7B, "]" and "}" 0x5D and 0x7D: one OR folds each pair
    folded = raw | 0x20
    opens, closes = (_outside(np.flatnonzero(folded == c), quotes) for c in (0x7B, 0x7D))
    if len(opens) <= MAX_DEPTH + _ROOT:
        return opens
    # the depth just inside each opening bracket: openers so far minus closers before it
    depth = np.arange(1, len(opens) + 1) - np.searchsorted(closes, opens)
    if int(depth.max()) > MAX_DEPTH + _ROOT:
        raise PageLimitError(f"a value nested deeper than {MAX_DEPTH} levels")
    return opens


def _outside(at: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The positions of ``at`` outside strings (after an even number of quotes)."""
    return np.asarray(at[(np.searchsorted(quotes, at) & 1) == 0])


def _check_keys(content: bytes, raw: np.ndarray, quotes: np.ndarray, objects: int) -> None:
    nuls = _nul_escapes(content, raw)
    if len(nuls) and _is_key(raw, quotes)[_string_of(nuls, quotes)].any():
        raise PageLimitError("a key contains a NUL character")
    if len(quotes) < 2:
        return
    # every string as one value of a binary array over the page's own bytes (no copy):
    # string i runs from just after quote i to its closing quote (included)
    offsets = (quotes + 1).astype(np.int32 if len(raw) < 2**31 else np.int64)
    kind = pa.binary() if offsets.dtype == np.int32 else pa.large_binary()
    strings = pa.Array.from_buffers(
        kind, len(quotes) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(content)]
    )
    keys = strings.take(pa.array(np.flatnonzero(_is_key(raw, quotes)) * 2))
    count = pc.count_distinct(keys).as_py()
    if count > MAX_KEYS:
        raise PageLimitError(f"more than {MAX_KEYS} distinct keys in one page ({count})")
    if count * objects > _CELLS_FLOOR + CELLS_PER_BYTE * len(raw):
        raise PageLimitError(
            f"a page whose columns would take more than {CELLS_PER_BYTE} cells per byte of it"
        )


def _is_key(raw: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """For each string, whether it is an object's key (a colon follows it)."""
    after = np.minimum(quotes[1::2] + 1, len(raw) - 1)
    is_key = raw[after] == _COLON
    blank = np.flatnonzero(np.take(_IS_WHITESPACE, raw[after]))
    if len(blank):  # whitespace between a key and its colon: the next byte that is not
        solid = np.flatnonzero(~np.take(_IS_WHITESPACE, raw))
        at = np.searchsorted(solid, after[blank])
        found = at < len(solid)
        is_key[blank[found]] = raw[solid[at[found]]] == _COLON
    return np.asarray(is_key)


def _nul_escapes(content: bytes, raw: np.ndarray) -> np.ndarray:
    """The positions of the ``\\u0000`` escapes (a backslash that is itself escaped
    does not start one)."""
    if b"\\u0000" not in content:
        return np.empty(0, np.intp)
    slashes = np.flatnonzero(raw == _BACKSLASH)
    fits = slashes[slashes + 5 < len(raw)]
    at = fits[np.all(raw[fits[:, None] + np.arange(1, 6)] == _U0000, axis=1)]
    return np.asarray(at[((at - _run_start(slashes, at)) & 1) == 0])


def _string_of(at: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The index of the string each position of ``at`` lies in (positions in strings)."""
    inside = np.searchsorted(quotes, at)
    return np.asarray((inside[(inside & 1) == 1] - 1) // 2)


def _check_numbers(content: bytes, raw: np.ndarray, quotes: np.ndarray) -> None:
    """``NaN`` and ``Infinity`` are not JSON: Arrow's reader takes them, the other readers
    do not (so a page would read differently by path)."""
    for word in (b"NaN", b"Infinity"):
        if word not in content:
            continue
        first = np.flatnonzero(raw == word[0])
        first = first[first + len(word) <= len(raw)]
        spelled = np.all(raw[first[:, None] + np.arange(len(word))] == list(word), axis=1)
        if len(_outside(first[spelled], quotes)):
            raise PageLimitError(f"{word.decode()} is not a JSON number")


def page_number(value: object, name: str) -> int | None:
    """A paginator's count (``total``, ``last_page``) as an int; None when it is absent or
    not a JSON number; :class:`PageLimitError` for a number that cannot be a count
    (negative, fractional, past int64): every parse path reads the counts through it.

    >>> page_number(3, "last_page"), page_number(3.0, "total"), page_number(None, "total")
    (3, 3, None)
    >>> page_number(1e19, "last_page")
    Traceback (most recent call last):
    ...
    milekit.types.limits.PageLimitError: last_page is not a count: 1e+19
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None  # as every reader has it: text such as "7" is no count
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        if 0 <= value < 2.0**63:
            return int(value)
    elif isinstance(value, int) and 0 <= value < 2**63:
        return value
    raise PageLimitError(f"{name} is not a count: {value!r}")
