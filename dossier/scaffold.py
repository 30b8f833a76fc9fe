"""``python build.py new``: skeleton files with the right slug, never overwriting.

A skeleton is a draft (``draft: true``): it is checked but not published, and every
field it needs is present, so the build passes until the author fills it in.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .dates import DateFormatError, parse_date
from .errors import UsageError

FOLDERS = {"event": "events", "person": "people", "organization": "organizations"}


def slugify(text: str) -> str:
    """'José Jerí' -> 'jose-jeri': accents folded, lowercase ASCII, single hyphens."""
    folded = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in folded if not unicodedata.combining(c))
    ascii_text = ascii_text.replace("ß", "ss").replace("æ", "ae").replace("ø", "o")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def skeleton(kind: str, title: str, date: str | None) -> tuple[str, str]:
    """(slug, file text) for a new record."""
    if kind == "event":
        if date is None:
            raise UsageError("new event needs --date YYYY-MM-DD (or YYYY-MM, YYYY)")
        try:
            parsed = parse_date(date)
        except DateFormatError as error:
            raise UsageError(f"--date {error}") from None
        slug = f"{parsed.iso()}-{slugify(title)}"
        return slug, (
            f"---\ntitle: {_quoted(title)}\ndate: {parsed.iso()}\n"
            "summary: One sentence, in your own words.\n"
            "draft: true          # remove this line to publish\n"
            "participants: []     # e.g. [{ref: betssy-chavez, role: actor}]\n"
            "sources: []          # at least one source slug before publishing\n"
            "---\nWhat happened, in your own words. Link people with [[slug]].\n")
    slug = slugify(title)
    extra = "positions: []\n" if kind == "person" else \
        "kind: organization  # government, ministry, embassy, party, ...\n"
    return slug, (f"name: {_quoted(title)}\n{extra}"
                  "summary: A short summary in your own words.\n"
                  "draft: true          # remove this line to publish\n"
                  "sources: []          # at least one source slug before publishing\n")


def new_record(content: Path, kind: str, title: str, date: str | None) -> Path:
    """Write the skeleton; refuse to overwrite an existing file."""
    if kind not in FOLDERS:
        raise UsageError(f"new: unknown kind {kind!r}; use event, person or organization")
    slug, text = skeleton(kind, title, date)
    if not slug or not slug.strip("-0123456789"):
        raise UsageError(f"new: cannot make a slug from {title!r}")
    ext = ".md" if kind == "event" else ".yaml"
    path = content / FOLDERS[kind] / f"{slug}{ext}"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise UsageError(f"new: {path} already exists; not overwriting it") from None
    return path
