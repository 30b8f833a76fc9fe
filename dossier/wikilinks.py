"""Links in Markdown text: the ``[[slug]]`` / ``[[slug|label]]`` syntax, and which
ordinary link targets are allowed.

Shared by link (which resolves wikilinks, records mentions and reports forbidden
targets) and markdown (which renders them and never emits a forbidden one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from sys import intern

from .errors import ContentProblem
from .model import markdown_texts

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


@lru_cache(maxsize=1 << 16)
def find_wikilinks(text: str) -> tuple[WikiLink, ...]:
    """Every wikilink outside code, in order, with its line offset. Remembered per text:
    link, plan, search and pages all ask about the same texts, and so does every
    rebuild of a serve session."""
    if "[[" not in text:
        return ()
    visible = _visible(text)
    return tuple(WikiLink(intern(m.group(1).strip()), (m.group(2) or "").strip() or None,
                          visible.count("\n", 0, m.start()))
                 for m in WIKILINK_RE.finditer(visible))


def _visible(text: str) -> str:
    """The text with code blanked out (lines kept), where links are not links."""
    if "`" not in text and "~~~" not in text:
        return text
    return _CODE_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def record_links(record, problems: list[ContentProblem]) -> tuple[str, ...]:
    """What a record's Markdown texts link to with [[...]]: each target as written, once,
    in order. Appends a problem for every ordinary link target that is not allowed (these
    depend on the record alone, so they are found when it is validated)."""
    targets: dict[str, None] = {}
    for owner, field, text, line, is_body in markdown_texts(record):
        for target, offset in forbidden_targets(text):
            problems.append(ContentProblem(
                owner.path, (line or 1) + offset if is_body else line, field,
                f"link target '{target}' is not allowed: link to pages of the dossier with "
                "[[slug]], and elsewhere with a full https:// address"))
        for wikilink in find_wikilinks(text):
            targets[wikilink.target] = None
    return tuple(targets)


ALLOWED_SCHEMES = ("https://", "http://", "mailto:")
_INLINE_TARGET = re.compile(r"\]\(\s*<?([^()\s>]*(?:\([^()\s]*\)[^()\s>]*)*)")
_REFERENCE_TARGET = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>")


def allowed_target(target: str) -> bool:
    """Only full web addresses, mail addresses and in-page anchors may be linked from content:
    relative paths would break between pages and in the single-file edition, and other
    schemes (javascript:, data:, file:) are how content attacks readers."""
    return target.lower().startswith(ALLOWED_SCHEMES) or target.startswith("#")


@lru_cache(maxsize=1 << 16)
def forbidden_targets(text: str) -> tuple[tuple[str, int], ...]:
    """(target, line offset) of every Markdown link target that is not allowed."""
    if "](" not in text and "]:" not in text and "<" not in text:
        return ()
    visible = _visible(text)
    found = []
    for pattern in (_INLINE_TARGET, _REFERENCE_TARGET, _AUTOLINK):
        for match in pattern.finditer(visible):
            target = match.group(1)
            if target and not allowed_target(target):
                found.append((target, visible.count("\n", 0, match.start())))
    return tuple(sorted(found, key=lambda pair: pair[1]))
