"""The URL scheme, in exactly one place: where each page lives and how pages link.

Three kinds of string never mix: a ``Slug`` names a record, a ``SourcePath`` is a file
under content/, and a ``Url`` is an output file path relative to the site root
('events/x.html'). Pages link with ``relative(from_page, to)`` so the same site works
at a domain root, under a sub-path and from disk. Links always name a file.
"""

from __future__ import annotations

import re
from typing import NewType

Slug = NewType("Slug", str)
SourcePath = NewType("SourcePath", str)
Url = NewType("Url", str)

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Where each kind of record gets its page: kind -> folder.
KIND_FOLDERS = {
    "event": "events",
    "person": "people",
    "organization": "organizations",
    "source": "sources",
}

INDEX = Url("index.html")
TIMELINE = Url("timeline.html")
PEOPLE = Url("people.html")
QUOTES = Url("quotes.html")
SOURCES = Url("sources.html")
DISCREPANCIES = Url("discrepancies.html")
NOT_FOUND = Url("404.html")
SEARCH = Url("search.html")
SINGLE = Url("dossier.html")
STYLESHEET = Url("assets/style.css")


def is_slug(text: str) -> bool:
    """True for lowercase ASCII letters and digits joined by single hyphens."""
    return bool(SLUG_RE.match(text))


def page_url(kind: str, slug: str) -> Url:
    """The page of one record: page_url('event', 'x') == 'events/x.html'."""
    return Url(f"{KIND_FOLDERS[kind]}/{slug}.html")


def quote_anchor(quote_id: str) -> str:
    """The fragment identifier of a quote, stable across builds."""
    return f"q-{quote_id}"


def quote_url(quote_id: str) -> Url:
    """Where a quote lives in the quote index."""
    return Url(f"{QUOTES}#{quote_anchor(quote_id)}")


def relative(from_page: Url, to: Url) -> str:
    """A link from one output file to another (may carry a #fragment).

    Output paths are normalised (no '.' or '..'), so going up to the root and down
    again is exact; it is the same result as posixpath.relpath for our flat layout,
    and much faster (every page makes hundreds of links).

    >>> relative(Url('events/a.html'), Url('people/b.html'))
    '../people/b.html'
    >>> relative(Url('index.html'), Url('quotes.html#q-x'))
    'quotes.html#q-x'
    """
    path, hash_, fragment = to.partition("#")
    if path == from_page and fragment:
        return f"#{fragment}"
    from_dir = from_page.rpartition("/")[0]
    to_dir, _, name = path.rpartition("/")
    if from_dir == to_dir:
        rel = name or "./"
    else:
        rel = "../" * (from_dir.count("/") + 1 if from_dir else 0) + path
    return rel + hash_ + fragment


def absolute(site_url: str, to: Url) -> str:
    """An absolute URL, only for places a standard demands one (feeds, canonical)."""
    return site_url.rstrip("/") + "/" + to
