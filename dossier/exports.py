"""Data exports: dossier.json (described by schema/dossier.schema.json), events.csv,
quotes.csv and timeline.json in Knight Lab TimelineJS's format.

Every reference is resolved: it carries the slug, the kind, the name and the page.
CSV cells that a spreadsheet would run as a formula are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io

from .dates import PartialDate, When
from .deps import pieces
from .jsontext import compact
from .link import Dossier
from .model import Citation, Event, Organization, Person, Position, Quote, Source
from .pages import plain
from .urls import page_url, quote_url

SCHEMA_VERSION = "1.0"


def _date(when: When) -> dict:
    return {"start": when.start.iso(), "end": when.end.iso() if when.end else None,
            "qualifier": when.qualifier, "text": when.human()}


def _iso(date: PartialDate | None) -> str | None:
    return date.iso() if date else None


def _ref(dossier: Dossier, slug: str) -> dict:
    return {"slug": slug, "kind": dossier.kind(slug), "name": dossier.name(slug),
            "url": dossier.url(slug)}


def _cite(dossier: Dossier, cite: Citation) -> dict:
    return {"source": _ref(dossier, cite.source.slug), "locator": cite.locator,
            "note": cite.note}


def _quote(dossier: Dossier, q: Quote) -> dict:
    return {"id": q.id, "url": quote_url(q.id), "event": _ref(dossier, q.event),
            "speaker": _ref(dossier, q.speaker.slug), "text": q.text, "lang": q.lang,
            "said": _date(q.said), "occasion": q.occasion, "context": q.context,
            "source": _cite(dossier, q.source),
            "via": [_ref(dossier, r.slug) for r in q.via],
            "translation": {"text": q.translation.text, "by": q.translation.by}
            if q.translation else None,
            "responds_to": q.responds_to.slug if q.responds_to else None}


def _event(dossier: Dossier, e: Event) -> dict:
    return {"slug": e.slug, "url": page_url("event", e.slug), "title": e.title,
            "date": _date(e.when), "summary": e.summary, "body": dossier.body(e).strip(),
            "status": e.status, "location": e.location, "track": e.track,
            "tags": list(e.tags),
            "participants": [{**_ref(dossier, p.ref.slug), "role": p.role}
                             for p in e.participants],
            "sources": [_cite(dossier, c) for c in e.sources],
            "quotes": [q.id for q in e.quotes],
            "conflicts": [{"field": c.field, "note": c.note,
                           "versions": [{"text": v.text,
                                         "sources": [_cite(dossier, s) for s in v.sources]}
                                        for v in c.versions]} for c in e.conflicts],
            "related": [_ref(dossier, r.slug) for r in dossier.related_of.get(e.slug, ())]}


def _position(dossier: Dossier, p: Position) -> dict:
    return {"title": p.title, "organization": _ref(dossier, p.organization.slug)
            if p.organization else None, "start": _iso(p.start), "end": _iso(p.end),
            "in_office": _iso(p.in_office), "acting": p.acting, "note": p.note,
            "sources": [_cite(dossier, c) for c in p.sources]}


def _profile(dossier: Dossier, r: Person | Organization) -> dict:
    kind = "person" if isinstance(r, Person) else "organization"
    data = {"slug": r.slug, "url": page_url(kind, r.slug), "name": r.name,
            "aliases": list(r.aliases), "country": r.country, "summary": r.summary,
            "as_of": _iso(r.as_of), "sources": [_cite(dossier, c) for c in r.sources],
            "events": [{"slug": e.slug, "role": role}
                       for e, role in dossier.events_of.get(r.slug, ())],
            "quotes": [q.id for q in dossier.quotes_by.get(r.slug, ())]}
    if isinstance(r, Person):
        data["party"] = _ref(dossier, r.party.slug) if r.party else None
        data["positions"] = [_position(dossier, p) for p in r.positions]
    else:
        data["kind"] = r.kind
        data["parent"] = _ref(dossier, r.parent.slug) if r.parent else None
    return data


def _source(dossier: Dossier, s: Source) -> dict:
    return {"slug": s.slug, "url": page_url("source", s.slug), "name": s.name, "kind": s.kind,
            "publisher": s.publisher, "published": _iso(s.published), "link": s.url,
            "lang": s.lang, "description": s.description,
            "via": [_ref(dossier, r.slug) for r in s.via],
            "cited_by": sorted({b.page for b in dossier.cited_by.get(s.slug, ())})}




def dossier_json(dossier: Dossier, fragments: dict | None = None) -> list[bytes]:
    """Everything in the dossier, machine-readable (see schema/dossier.schema.json).

    Chunks around one JSON piece per record (deps.pieces): the same bytes as dumping
    the whole document at once."""
    site = dossier.site
    head = {"schema_version": SCHEMA_VERSION,
            "dossier": {"title": site.title, "subtitle": site.subtitle, "summary": site.summary,
                        "language": site.language, "as_of": _iso(site.as_of),
                        "site_url": site.site_url}}
    chunks = [compact(head)[:-1].encode("utf-8")]
    for kind, make in (("events", _event), ("people", _profile),
                       ("organizations", _profile), ("sources", _source), ("quotes", _quote)):
        chunks += [f",{compact(kind)}:[".encode("utf-8"),
                   *pieces(dossier, fragments, "dossier.json", kind, getattr(dossier, kind),
                           lambda tracked, item, make=make: compact(make(tracked, item)), b","),
                   b"]"]
    return chunks + [b"}\n"]


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_row(values: list) -> str:
    """One CSV line (RFC 4180, CRLF), formula-like cells defused."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def _csv(header: list[str], rows: list[bytes]) -> list[bytes]:
    return [_csv_row(header).encode("utf-8"), *rows]


def events_csv(dossier: Dossier, fragments: dict | None = None) -> list[bytes]:
    return _csv(["slug", "date", "end", "date_text", "title", "summary", "status", "track",
                 "location", "participants", "sources", "url"],
                pieces(dossier, fragments, "events.csv", "rows", dossier.events, lambda d, e: _csv_row(
                    [e.slug, e.when.start.iso(), _iso(e.when.end), e.when.human(), e.title,
                     plain(d, e.summary), e.status, e.track, e.location,
                     ";".join(p.ref.slug for p in e.participants),
                     ";".join(c.source.slug for c in e.sources), page_url("event", e.slug)])))


def quotes_csv(dossier: Dossier, fragments: dict | None = None) -> list[bytes]:
    return _csv(["id", "said", "said_text", "speaker", "speaker_name", "text", "lang",
                 "occasion", "source", "via", "event", "url"],
                pieces(dossier, fragments, "quotes.csv", "rows", dossier.quotes, lambda d, q: _csv_row(
                    [q.id, q.said.iso(), q.said.human(), q.speaker.slug,
                     d.name(q.speaker.slug), q.text, q.lang, q.occasion,
                     q.source.source.slug, ";".join(r.slug for r in q.via), q.event,
                     quote_url(q.id)])))


def _timeline_date(date: PartialDate) -> dict:
    out = {"year": date.year}
    if date.month:
        out["month"] = date.month
    if date.day:
        out["day"] = date.day
    return out


def timeline_json(dossier: Dossier, fragments: dict | None = None) -> list[bytes]:
    """The events in TimelineJS's JSON format, at their real date precision."""
    tracks = {t.slug: t.name for t in dossier.site.tracks}

    def item(tracked, e: Event) -> str:
        data = {"unique_id": e.slug, "start_date": _timeline_date(e.when.start),
                "display_date": e.when.human(),
                "text": {"headline": e.title, "text": plain(tracked, e.summary)}}
        if e.when.end:
            data["end_date"] = _timeline_date(e.when.end)
        if e.track:
            data["group"] = tracks.get(e.track, e.track)
        return compact(data)
    site = dossier.site
    title = compact({"text": {"headline": site.title, "text": plain(dossier, site.summary)}})
    events = pieces(dossier, fragments, "timeline.json", "events", dossier.events, item, b",")
    return [f'{{"title":{title},"events":['.encode("utf-8"), *events, b"]}\n"]
