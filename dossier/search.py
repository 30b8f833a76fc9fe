"""The offline search index: every record as a compact row, loaded by a plain <script>.

A fetch() of a JSON index is blocked by browsers on file://, so the index is a script
that assigns one global. Rows are arrays to keep it small:
``[kind, title, url, detail, snippet, names, words]`` where ``names`` and ``words`` are
already folded (lowercase, accents removed) for matching; the browser folds the query
the same way, so "Jeri" finds "Jerí".
"""

from __future__ import annotations

import re
import unicodedata

from .deps import pieces
from .link import Dossier
from .pages import plain, plain_words, role_label
from .structured import safe_json
from .urls import Url, page_url, quote_url

GLOBAL = "DOSSIER_SEARCH"
SEARCH_INDEX = Url("assets/search-index.js")
"""Where the index is written (its pieces are kept under this name)."""
_WORD = re.compile(r"[a-z0-9]{3,}")
SNIPPET = 160


_MARKS = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lowercase, accents removed: the form both the index and the query are matched in
    (the browser does the same: NFD, then drop U+0300–U+036F).

    Only the runs of non-ASCII characters are decomposed: an ASCII character decomposes
    to itself and starts a new sequence of combining marks (combining class 0), so the
    NFD of a text is the NFD of those runs, in place; lowercasing, whose final sigma
    depends on the letters around, is still done on the whole."""
    if text.isascii():                            # no accents to remove
        return text.lower()
    return _NON_ASCII.sub(_unaccented, text).lower()


def _unaccented(run: re.Match) -> str:
    return _MARKS.sub("", unicodedata.normalize("NFD", run.group()))


_NON_ASCII = re.compile("[^\x00-\x7f]+")


def _words(*texts: str) -> str:
    """Distinct folded words of three letters or more, in first-seen order.

    Folded and searched are the text's distinct whitespace-separated tokens, in
    first-seen order, not the whole text: a word is never split by folding (it works
    character by character, but for a final sigma's lowercase: no letter of a word), so
    a token repeated adds no word, and prose repeats most of its tokens (0.09 of the
    0.51 s the index's words took at 10,000 events)."""
    distinct = " ".join(dict.fromkeys(" ".join(texts).split()))
    return " ".join(dict.fromkeys(_WORD.findall(fold(distinct))))


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET else text[:SNIPPET - 1].rsplit(" ", 1)[0] + "…"


def _person(dossier, p) -> list[str]:
    summary = plain(dossier, p.summary)
    return ["person", p.name, page_url("person", p.slug), role_label(p), _snippet(summary),
            fold(" ".join((p.name, *p.aliases))), _words(summary)]


def _organization(dossier, o) -> list[str]:
    summary = plain(dossier, o.summary)
    return ["organization", o.name, page_url("organization", o.slug), (role_label(o) or o.kind or ""),
            _snippet(summary), fold(" ".join((o.name, *o.aliases))), _words(summary)]


def _event(dossier, e) -> list[str]:
    summary, body = plain(dossier, e.summary), plain_words(dossier, dossier.body(e))
    return ["event", e.title, page_url("event", e.slug), e.when.human(), _snippet(summary),
            fold(e.title), _words(summary, body, " ".join(e.tags))]


def _quote(dossier, q) -> list[str]:
    speaker = dossier.name(q.speaker.slug)
    return ["quote", f"“{_snippet(q.text)}”", quote_url(q.id), f"{speaker}, {q.said.human()}",
            _snippet(plain(dossier, q.context or "")), fold(speaker),
            _words(q.text, q.translation.text if q.translation else "")]


def _source(dossier, s) -> list[str]:
    description = plain(dossier, s.description or "")
    return ["source", s.name, page_url("source", s.slug), s.kind, _snippet(description),
            fold(" ".join((s.name, s.publisher or ""))), _words(description)]


ROWS = (("people", _person), ("organizations", _organization), ("events", _event),
        ("quotes", _quote), ("sources", _source))
"""One row per person, organization, event, quote and source, in this order."""


def index_script(dossier: Dossier, fragments: dict | None = None) -> list[bytes]:
    """assets/search-index.js: ``window.DOSSIER_SEARCH = [...]``, as chunks around a
    piece per row (deps.pieces)."""
    chunks: list = []
    for kind, make in ROWS:
        rows = pieces(dossier, fragments, SEARCH_INDEX, kind, getattr(dossier, kind),
                      lambda tracked, item, make=make: safe_json(make(tracked, item)), b",")
        chunks += [b",", *rows] if chunks and rows else rows
    return [f"window.{GLOBAL}=[".encode("utf-8"), *chunks, b"];\n"]
