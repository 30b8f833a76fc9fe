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

from .link import Dossier
from .pages import plain, role_label
from .structured import safe_json
from .urls import page_url, quote_url

GLOBAL = "DOSSIER_SEARCH"
_WORD = re.compile(r"[a-z0-9]+")
SNIPPET = 160


_MARKS = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lowercase, accents removed: the form both the index and the query are matched in
    (the browser does the same: NFD, then drop U+0300–U+036F)."""
    return _MARKS.sub("", unicodedata.normalize("NFD", text)).lower()


def _words(*texts: str) -> str:
    """Distinct folded words of three letters or more, in first-seen order."""
    seen = dict.fromkeys(w for t in texts for w in _WORD.findall(fold(t)) if len(w) > 2)
    return " ".join(seen)


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET else text[:SNIPPET - 1].rsplit(" ", 1)[0] + "…"


def rows(dossier: Dossier) -> list[list[str]]:
    """One row per person, organization, event, quote and source."""
    out = []
    for p in dossier.people:
        summary = plain(dossier, p.summary)
        out.append(["person", p.name, page_url("person", p.slug), role_label(p), _snippet(summary),
                    fold(" ".join((p.name, *p.aliases))), _words(summary)])
    for o in dossier.organizations:
        summary = plain(dossier, o.summary)
        out.append(["organization", o.name, page_url("organization", o.slug), (role_label(o) or o.kind or ""),
                    _snippet(summary), fold(" ".join((o.name, *o.aliases))), _words(summary)])
    for e in dossier.events:
        summary = plain(dossier, e.summary)
        out.append(["event", e.title, page_url("event", e.slug), e.when.human(),
                    _snippet(summary), fold(e.title),
                    _words(summary, plain(dossier, e.body), " ".join(e.tags))])
    for q in dossier.quotes:
        speaker = dossier.name(q.speaker.slug)
        out.append(["quote", f"“{_snippet(q.text)}”", quote_url(q.id),
                    f"{speaker}, {q.said.human()}", _snippet(plain(dossier, q.context or "")),
                    fold(speaker), _words(q.text, q.translation.text if q.translation else "")])
    for s in dossier.sources:
        description = plain(dossier, s.description or "")
        out.append(["source", s.name, page_url("source", s.slug), s.kind, _snippet(description),
                    fold(" ".join((s.name, s.publisher or ""))), _words(description)])
    return out


def index_script(dossier: Dossier) -> bytes:
    """assets/search-index.js: ``window.DOSSIER_SEARCH = [...]``."""
    return f"window.{GLOBAL}={safe_json(rows(dossier))};\n".encode("utf-8")
