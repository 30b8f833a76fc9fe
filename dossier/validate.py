"""Turn parsed records into the typed model, collecting every problem on the way.

Each kind of record has one function here, and the allowed keys of each kind are
listed once, next to it. Cross-record checks (does this slug exist?) are link's job;
slug rules and duplicate slugs are checked here because they need no content.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from sys import intern

from .dates import PartialDate, When
from .errors import ContentProblem
from .fields import Fields
from .load import Record, validated
from .model import (EVENT_ROLES, EVENT_STATUSES, SOURCE_KINDS, Conflict, Content, Event,
                    Fact, Organization, Participant, Person, Position, Question, Quote,
                    Site, Source, Track, Translation, Version)
from .urls import Slug, is_slug
from .wikilinks import record_links
from .yamlmarks import LineDict

SITE_KEYS = ("title", "subtitle", "summary", "language", "timezone", "as_of", "site_url",
             "tracks", "key_facts", "open_questions", "key_people", "author", "cname")
EVENT_KEYS = ("draft", "title", "date", "end", "summary", "participants", "location", "track",
              "tags", "sources", "quotes", "status", "conflicts", "related", "updated")
QUOTE_KEYS = ("id", "speaker", "text", "lang", "translation", "said", "occasion", "source",
              "via", "context", "responds_to")
PERSON_KEYS = ("draft", "name", "aliases", "country", "party", "positions", "summary", "as_of",
               "sources")
POSITION_KEYS = ("title", "organization", "start", "end", "in_office", "acting", "note",
                 "sources")
ORGANIZATION_KEYS = ("draft", "name", "aliases", "country", "kind", "parent", "summary", "as_of",
                     "sources")
SOURCE_KEYS = ("draft", "name", "kind", "publisher", "published", "url", "lang", "archive",
               "description", "via")


def validate(records: list[Record], problems: list[ContentProblem],
             unreadable: frozenset[str] = frozenset(),
             outcomes: list[Record] | None = None) -> Content | None:
    """Build the model from records; append every problem found to ``problems``.

    A record that carries its outcome from an earlier build (``Record.validated``) is
    not validated again. Every record but the site's is appended to ``outcomes`` with
    its outcome, for the cache. Returns None when no usable site record exists (the
    build cannot go on).
    """
    outcomes = [] if outcomes is None else outcomes
    check_slugs(records, problems)
    site = None
    events, people, organizations, sources = [], [], [], []
    models = {"event": events, "person": people, "organization": organizations,
              "source": sources}
    drafts = set()
    links = []
    for record in records:
        if record.kind == "site":
            site = validate_site(record, problems)
            links.append((site.path, record_links(site, problems)))
            continue
        if record.validated is None:
            record = outcome(record, site.language if site else "en")
        outcomes.append(record)
        model, found, targets = record.validated
        problems.extend(found)
        if model is None:
            drafts.add(record.slug)
        else:
            models[record.kind].append(model)
            links.append((model.path, targets))
    if site is None:
        return None
    return Content(site, tuple(events), tuple(people), tuple(organizations), tuple(sources),
                   unreadable, frozenset(drafts), tuple(links))


def outcome(record: Record, language: str) -> Record:
    """One record validated on its own (all that validation needs of the others is the
    site's language): the record as ``load.validated`` keeps it, model, problems and
    the targets of its [[links]]."""
    found: list[ContentProblem] = []
    if is_draft(record, found):
        return validated(record, None, found)
    model = BUILDERS[record.kind](record, found, language)
    return validated(record, model, found, record_links(model, found))


def is_draft(record: Record, problems: list[ContentProblem]) -> bool:
    """Drafts (``draft: true``) are reported and left out of the site."""
    value = record.data.get("draft", False)
    if value is True:
        problems.append(ContentProblem(record.path, record.data.line_of("draft"), "draft",
                                       "not published while it is a draft (remove 'draft: true' to publish)",
                                       "warning"))
        return True
    if value is not False:
        problems.append(ContentProblem(record.path, record.data.line_of("draft"), "draft",
                                       f"must be true or false (got {value!r})"))
    return False


def lines_of(record: Record) -> tuple[tuple[str, int], ...]:
    """The line of each top-level field, kept on the model for later error messages."""
    return tuple((str(key), record.data.line_of(key)) for key in record.data)


def fold(text: str) -> str:
    """Lowercase ASCII skeleton of a name, for finding near-duplicate slugs."""
    if text.isascii():                        # every valid slug: nothing to decompose
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def check_slugs(records: list[Record], problems: list[ContentProblem]) -> None:
    """Slugs are file names: lowercase ASCII and hyphens, unique across all kinds."""
    seen: dict[str, Record] = {}
    valid = {}
    for record in records:
        valid[record.path] = ok = is_slug(record.slug)
        if record.kind != "site" and not ok:
            problems.append(ContentProblem(
                record.path, None, "", f"file name {record.slug!r} is not a valid slug: use "
                "lowercase ASCII letters, digits and single hyphens (e.g. 'betssy-chavez')"))
    folded = [fold(record.slug) for record in records if record.kind != "site"]
    if len(set(folded)) == len(folded):
        return                                # no two alike: nothing to sort (12,700 files)
    # valid slugs claim their name first, so a clash is reported on the odd one out
    for record in sorted(records, key=lambda r: (not valid[r.path], r.path)):
        if record.kind == "site":
            continue
        key = fold(record.slug)
        other = seen.setdefault(key, record)
        if other is record:
            continue
        if other.slug == record.slug:
            message = f"duplicate slug {record.slug!r}: {other.path} already uses it"
        else:
            message = (f"slug {record.slug!r} differs from {other.slug!r} ({other.path}) "
                       "only by case or accents")
        problems.append(ContentProblem(record.path, None, "",
                                       message + "; slugs are unique across all kinds"))


def validate_site(record: Record, problems: list[ContentProblem]) -> Site:
    f = Fields(record.path, record.data, problems, allowed=SITE_KEYS)
    tracks = []
    for _, t in f.mappings("tracks", ("slug", "name"), shorthand="name"):
        name = t.text("name", required=True)
        slug = t.text("slug") or (name or "").lower().replace(" ", "-")
        if name:
            tracks.append(Track(slug, name))
        t.finish()
    facts = []
    for _, k in f.mappings("key_facts", ("label", "value", "sources", "note")):
        label, value = k.text("label", required=True), k.text("value", required=True)
        cites, note = k.citations("sources", required=True), k.text("note")
        k.finish()
        if label and value:
            facts.append(Fact(label, value, cites, note))
    questions = []
    for _, q in f.mappings("open_questions", ("text", "sources"), shorthand="text"):
        text, cites = q.text("text", required=True), q.citations("sources")
        q.finish()
        if text:
            questions.append(Question(text, cites))
    site_url = f.text("site_url")
    if site_url and not site_url.startswith(("https://", "http://")):
        f.error("site_url", f"must start with https:// (got {site_url!r})")
        site_url = None
    site = Site(
        title=f.text("title", required=True) or "Untitled dossier",
        summary=f.text("summary", required=True) or "",
        path=record.path, subtitle=f.text("subtitle"), language=f.text("language") or "en",
        timezone=f.text("timezone"), as_of=f.date("as_of"), site_url=site_url,
        tracks=tuple(tracks), key_facts=tuple(facts), open_questions=tuple(questions),
        key_people=f.refs("key_people"), author=f.text("author"), cname=_cname(f),
        line_of=lines_of(record))
    f.finish()
    return site


def _cname(f: Fields) -> str | None:
    cname = f.text("cname")
    if cname and not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+",
                                  cname.lower()):
        f.error("cname", f"must be a domain name like dossier.example.org (got {cname!r})")
        return None
    return cname.lower() if cname else None


def validate_event(record: Record, problems: list[ContentProblem], language: str) -> Event:
    f = Fields(record.path, record.data, problems, allowed=EVENT_KEYS)
    when = _event_when(f)
    participants = []
    for _, p in f.mappings("participants", ("ref", "role"), shorthand="ref"):
        ref, role = p.ref("ref", required=True), p.choice("role", EVENT_ROLES)
        p.finish()
        if ref:
            participants.append(Participant(ref, role))
    quotes = tuple(validate_quote(q, record, index, language)
                   for index, q in f.mappings("quotes", QUOTE_KEYS))
    event = Event(
        slug=Slug(record.slug), path=record.path,
        title=f.text("title", required=True) or record.slug,
        when=when, summary=f.text("summary", required=True) or "",
        body=record.body, body_line=record.body_line,
        sources=f.citations("sources", required=True),
        participants=tuple(participants), location=f.text("location"),
        track=f.text("track"), tags=f.texts("tags"),
        quotes=tuple(q for q in quotes if q is not None),
        status=f.choice("status", EVENT_STATUSES, "reported"),
        conflicts=validate_conflicts(f), related=f.refs("related"), updated=f.date("updated"),
        line_of=lines_of(record))
    f.finish()
    return event


def _event_when(f: Fields) -> When:
    when = f.when("date", required=True)
    end = f.date("end")
    if when is not None and end is not None:
        if when.end is not None:
            f.error("end", "give the end either here or inside date:, not both")
        else:
            when = f.make_when("end", when.start, end, when.qualifier, when.display)
    return when or When(PartialDate(1, 0, 0))


def validate_quote(q: Fields, record: Record, index: int, language: str) -> Quote | None:
    translation = None
    if isinstance(q.raw("translation"), LineDict):
        t = q.sub("translation", ("text", "by"))
        text, by = t.text("text", required=True), t.text("by", required=True)
        t.finish()
        translation = Translation(text, by) if text and by else None
    elif "translation" in q.data and q.data["translation"] is not None:
        q.error("translation", "must be a mapping with text and by")
    quote_id = q.text("id") or f"{record.slug}-{index + 1}"
    if not is_slug(quote_id):
        q.error("id", f"must be a slug like 'de-zela-parallel-reality' (got {quote_id!r})")
    speaker, text = q.ref("speaker", required=True), q.raw("text", required=True)
    if text is not None and not isinstance(text, str):
        q.error("text", "must be text (got a non-text value); put the quote in quotes")
        text = None
    said, source = q.when("said", required=True), q.citation("source", required=True)
    result = Quote(
        id=quote_id, event=Slug(record.slug), speaker=speaker, text=text,
        lang=q.text("lang") or language, said=said, source=source, via=q.refs("via"),
        occasion=q.text("occasion"), context=q.text("context"), translation=translation,
        responds_to=q.ref("responds_to"), path=record.path, line=q.line("text"),
        field=intern(q.field("text")))
    q.finish()
    if None in (speaker, text, said, source) or not (text or "").strip():
        return None
    return result


def validate_conflicts(f: Fields) -> tuple[Conflict, ...]:
    conflicts = []
    for _, c in f.mappings("conflicts", ("field", "versions", "note")):
        versions = []
        for _, v in c.mappings("versions", ("text", "sources"), required=True):
            text, cites = v.text("text", required=True), v.citations("sources", required=True)
            v.finish()
            if text:
                versions.append(Version(text, cites))
        label, note = c.text("field", required=True), c.text("note")
        if len(versions) < 2 and c.raw("versions") is not None:
            c.error("versions", "a conflict needs at least two versions")
        c.finish()
        if label and len(versions) >= 2:
            conflicts.append(Conflict(label, tuple(versions), note, c.line()))
    return tuple(conflicts)


def validate_positions(f: Fields) -> tuple[Position, ...]:
    positions = []
    for _, p in f.mappings("positions", POSITION_KEYS):
        title = p.text("title", required=True)
        start, end = p.date("start"), p.date("end")
        if start and end and end.last_day() < start.first_day():
            p.error("end", f"ends ({end}) before it starts ({start})")
        position = Position(title or "", p.ref("organization"), start, end,
                            p.date("in_office"), p.boolean("acting"), p.text("note"),
                            p.citations("sources"))
        p.finish()
        if title:
            positions.append(position)
    return tuple(positions)


def validate_person(record: Record, problems: list[ContentProblem], _language: str) -> Person:
    f = Fields(record.path, record.data, problems, allowed=PERSON_KEYS)
    person = Person(
        slug=Slug(record.slug), path=record.path, name=f.text("name", required=True) or
        record.slug, summary=f.text("summary", required=True) or "",
        sources=f.citations("sources", required=True), aliases=f.texts("aliases"),
        country=f.text("country"), party=f.ref("party"), positions=validate_positions(f),
        as_of=f.date("as_of"))
    f.finish()
    return replace(person, line_of=lines_of(record))


def validate_organization(record: Record, problems: list[ContentProblem],
                          _language: str) -> Organization:
    f = Fields(record.path, record.data, problems, allowed=ORGANIZATION_KEYS)
    organization = Organization(
        slug=Slug(record.slug), path=record.path, name=f.text("name", required=True) or
        record.slug, summary=f.text("summary", required=True) or "",
        sources=f.citations("sources", required=True), aliases=f.texts("aliases"),
        country=f.text("country"), kind=f.text("kind"), parent=f.ref("parent"),
        as_of=f.date("as_of"))
    f.finish()
    return replace(organization, line_of=lines_of(record))


def validate_source(record: Record, problems: list[ContentProblem], _language: str) -> Source:
    f = Fields(record.path, record.data, problems, allowed=SOURCE_KEYS)
    url = f.text("url")
    if url and not url.startswith(("https://", "http://")):
        f.error("url", f"must be an http(s) address (got {url!r})")
        url = None
    archive = f.text("archive")
    if archive and ("/" in archive or "\\" in archive or archive.startswith(".")):
        f.error("archive", f"must be a plain file name inside the archive folder (got {archive!r})")
        archive = None
    source = Source(
        slug=Slug(record.slug), path=record.path, name=f.text("name", required=True) or
        record.slug, kind=f.choice("kind", SOURCE_KINDS, "report") or "report",
        publisher=f.text("publisher"), published=f.date("published"), url=url,
        lang=f.text("lang"), archive=archive, description=f.text("description"),
        via=f.refs("via"))
    if "kind" not in record.data:
        f.error("kind", f"required field is missing (one of {', '.join(SOURCE_KINDS)})")
    f.finish()
    return replace(source, line_of=lines_of(record))


BUILDERS = {"event": validate_event, "person": validate_person,
            "organization": validate_organization, "source": validate_source}
"""The validator of each kind of record."""
