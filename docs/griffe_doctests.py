"""Griffe extensions for the docs build (mkdocs.yml loads them; the file itself is left
out of the published site by ``exclude_docs``).

``DoctestFences``: the doctest examples that open milekit's docstrings (``>>> ...`` lines
and their output) are shown as Python console code blocks, not as Markdown text.

``SphinxRoles``: a Sphinx role in a docstring (``:func:`milekit.frame```,
``:class:`~milekit.errors.ResponseError```) becomes a cross-reference to the object's
entry when the site has one, else that name in code: no raw role text reaches the site.

>>> roles(":func:`~milekit.use` sets it", lambda name: name)
'<autoref identifier="milekit.use" optional><code>use</code></autoref> sets it'
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|exc|data|obj|const):`([^`]+)`")
"""A Sphinx role in the Python domain and its target (``~`` shortens the title)."""


def fence(text: str) -> str:
    """Wrap each run of doctest lines (from ``>>>`` to the next blank line) in a fence."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if not inside and line.lstrip().startswith(">>>"):
            out.append("```pycon")
            inside = True
        elif inside and not line.strip():
            out.append("```")
            inside = False
        out.append(line)
    if inside:
        out.append("```")
    return "\n".join(out)


def roles(text: str, resolve: Callable[[str], str]) -> str:
    """Each role as an optional autorefs link (rendered as plain code when the target
    has no entry on the site); ``resolve`` turns a name into its full path."""

    def link(match: re.Match[str]) -> str:
        target = match[1].strip()
        title, _, explicit = target.partition(" <")
        if explicit:  # :class:`title <target>`
            target = explicit.rstrip(">")
        elif target.startswith("~"):
            target = target[1:]
            title = target.rsplit(".", 1)[-1]
        ident = html.escape(resolve(target.rstrip("()")), quote=True)
        return f'<autoref identifier="{ident}" optional><code>{html.escape(title)}</code></autoref>'

    return ROLE.sub(link, text)


def _resolver(obj: Any) -> Callable[[str], str]:
    def resolve(name: str) -> str:
        try:
            return str(obj.resolve(name))
        except (griffe.NameResolutionError, KeyError, ValueError, AttributeError):
            return name

    return resolve


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence(obj.docstring.value)


class SphinxRoles(griffe.Extension):
    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None and ":`" in obj.docstring.value:
            obj.docstring.value = roles(obj.docstring.value, _resolver(obj))
