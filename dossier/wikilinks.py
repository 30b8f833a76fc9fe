"""The ``[[slug]]`` and ``[[slug|label]]`` syntax: finding links in Markdown text.

Shared by link (which resolves them and records mentions) and markdown (which
renders them), so both agree on what a wikilink is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WIKILINK_RE = re.compile(r"\[\[([^\[\]|\n]+?)(?:\|([^\[\]\n]+?))?\]\]")
_CODE_RE = re.compile(r"```.*?```|~~~.*?~~~|`[^`\n]*`", re.S)


@dataclass(frozen=True, slots=True)
class WikiLink:
    """One [[link]] found in a text."""

    target: str
    """The slug as written (stripped)."""
    label: str | None
    """The text after '|', if any."""
    line: int
    """0-based line offset inside the text."""


def find_wikilinks(text: str) -> list[WikiLink]:
    """Every wikilink outside code, in order, with its line offset."""
    visible = _CODE_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return [WikiLink(m.group(1).strip(), (m.group(2) or "").strip() or None,
                     visible.count("\n", 0, m.start()))
            for m in WIKILINK_RE.finditer(visible)]
