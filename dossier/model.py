"""The typed, frozen content model: what validate produces and link consumes.

References between records are unresolved ``Ref`` values here (a slug plus where it
was written); the link stage turns them into a resolved ``Dossier``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .dates import PartialDate, When
from .urls import Slug, SourcePath


def constructor(cls: type, name: str):
    """A function ``name(*values)`` that makes an instance of the frozen slotted dataclass
    ``cls`` from the values of all its fields, in order, setting each slot straight, in
    straight-line code (made as dataclasses makes __init__). A frozen dataclass's own
    __init__ sets each field through object.__setattr__: 60 % slower, for objects made by
    the ten thousand (backlinks; records read back from the cache)."""
    fields = [f.name for f in dataclasses.fields(cls)]
    params = [f"v{i}" for i in range(len(fields))]
    namespace = {"new": object.__new__, "cls": cls,
                 **{f"set{i}": cls.__dict__[field].__set__ for i, field in enumerate(fields)}}
    exec(f"def {name}({', '.join(params)}):\n    instance = new(cls)\n"
         + "".join(f"    set{i}(instance, {param})\n" for i, param in enumerate(params))
         + "    return instance\n", namespace)
    return namespace[name]


EVENT_ROLES = ("actor", "target", "spokesperson", "mentioned")
EVENT_STATUSES = ("confirmed", "reported", "disputed")
SOURCE_KINDS = ("wire", "newspaper", "broadcaster", "radio", "official statement",
                "social post", "report", "news site")


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another record by slug, with where it was written."""

    slug: Slug
    """The slug as written by the author."""
    field: str
    """Field path where it was written, e.g. 'participants[2].ref'."""
    line: int | None
    """Line in the file that holds the reference."""


@dataclass(frozen=True, slots=True)
class Citation:
    """A source cited for a fact, with an optional locator and note."""

    source: Ref
    """The source record cited."""
    locator: str | None = None
    """Where in the source (paragraph, timestamp, page)."""
    note: str | None = None
    """What the source says or how it says it, when that matters."""


@dataclass(frozen=True, slots=True)
class Translation:
    """A translation of a quote, with who made it."""

    text: str
    """The translated text."""
    by: str
    """Who translated it (an outlet, a person, 'dossier editors')."""


@dataclass(frozen=True, slots=True)
class Quote:
    """Words someone said, verbatim, as a sourced record."""

    id: str
    """Stable identifier; the anchor is 'q-<id>' on the quote index."""
    event: Slug
    """The event this quote belongs to."""
    speaker: Ref
    """Who said it: a person or an organization."""
    text: str
    """The words, character for character as the source gives them."""
    lang: str
    """Language of ``text`` (BCP 47, e.g. 'en', 'es')."""
    said: When
    """When it was said, as precisely as known."""
    source: Citation
    """Where the dossier read the words (checkable against an archived copy)."""
    via: tuple[Ref, ...] = ()
    """Outlets the source credits for the quote (e.g. El Comercio, Reuters)."""
    occasion: str | None = None
    """Where or how it was said: a press conference, a post on X, a statement."""
    context: str | None = None
    """A sentence of context in the editors' own words."""
    translation: Translation | None = None
    """A translation, if the text is not in the dossier's language."""
    responds_to: Ref | None = None
    """Another quote (by id) this one answers."""
    path: SourcePath = SourcePath("")
    """File that holds the quote."""
    line: int | None = None
    """Line of the quote's text field."""
    field: str = "text"
    """Field path of the quote's text, e.g. 'quotes[2].text'."""


@dataclass(frozen=True, slots=True)
class Participant:
    """A person or organization taking part in an event."""

    ref: Ref
    """The person or organization."""
    role: str | None = None
    """One of EVENT_ROLES, or None."""


@dataclass(frozen=True, slots=True)
class Version:
    """One source's version of a disputed fact."""

    text: str
    """The version, in the editors' words."""
    sources: tuple[Citation, ...]
    """Who says so."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """A point where sources disagree or are uncertain."""

    field: str
    """What is disputed, as a short label ('date announced', 'convention invoked')."""
    versions: tuple[Version, ...]
    """Two or more versions, each with its sources."""
    note: str | None = None
    """The editors' note on the discrepancy."""
    line: int | None = None
    """Line where the conflict is written."""


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, with its date, actors, sources and quotes."""

    slug: Slug
    """File name without extension."""
    path: SourcePath
    """content/events/<slug>.md"""
    title: str
    """Headline."""
    when: When
    """Date with honest precision."""
    summary: str
    """One sentence (Markdown, may hold [[links]])."""
    body: str
    """Markdown body."""
    body_line: int
    """Line of the file where the body starts."""
    sources: tuple[Citation, ...]
    """At least one source."""
    participants: tuple[Participant, ...] = ()
    """People and organizations involved."""
    location: str | None = None
    """Where it happened."""
    track: str | None = None
    """Display lane, one of the tracks in dossier.yaml."""
    tags: tuple[str, ...] = ()
    """Free tags."""
    quotes: tuple[Quote, ...] = ()
    """Quotes that belong to this event."""
    status: str = "reported"
    """One of EVENT_STATUSES."""
    conflicts: tuple[Conflict, ...] = ()
    """Where sources disagree about this event."""
    related: tuple[Ref, ...] = ()
    """Related events."""
    updated: PartialDate | None = None
    """When the editors last revised the entry (for feeds); the event date if absent."""
    line_of: tuple[tuple[str, int], ...] = ()
    """Lines of top-level fields, for errors found after validation."""


@dataclass(frozen=True, slots=True)
class Position:
    """A role held by a person for a period."""

    title: str
    """'Prime Minister', 'Foreign Minister'."""
    organization: Ref | None = None
    """The body the role belongs to."""
    start: PartialDate | None = None
    """When the role began, if known."""
    end: PartialDate | None = None
    """When it ended, if it has."""
    in_office: PartialDate | None = None
    """A date the sources show the role held, when start and end are not known."""
    acting: bool = False
    """True for an acting or interim holder."""
    note: str | None = None
    """How the sources describe the role, when it needs saying."""
    sources: tuple[Citation, ...] = ()
    """Who says so."""


@dataclass(frozen=True, slots=True)
class Person:
    """A person profile."""

    slug: Slug
    path: SourcePath
    name: str
    """Full name with accents, as the sources spell it."""
    summary: str
    """Short Markdown summary in the editors' words."""
    sources: tuple[Citation, ...]
    """Where the profile's facts come from."""
    aliases: tuple[str, ...] = ()
    """Other spellings and names."""
    country: str | None = None
    party: Ref | None = None
    """Party (an organization)."""
    positions: tuple[Position, ...] = ()
    as_of: PartialDate | None = None
    """Date the summary is true as of."""
    line_of: tuple[tuple[str, int], ...] = ()
    """Lines of top-level fields, for errors found after validation."""


@dataclass(frozen=True, slots=True)
class Organization:
    """A government, ministry, embassy, party, outlet-owner or other body."""

    slug: Slug
    path: SourcePath
    name: str
    summary: str
    sources: tuple[Citation, ...]
    aliases: tuple[str, ...] = ()
    country: str | None = None
    kind: str | None = None
    """'government', 'ministry', 'embassy', 'legislature', 'party', 'trade bloc', ..."""
    parent: Ref | None = None
    """The body it belongs to."""
    as_of: PartialDate | None = None
    line_of: tuple[tuple[str, int], ...] = ()
    """Lines of top-level fields, for errors found after validation."""


@dataclass(frozen=True, slots=True)
class Source:
    """A report, outlet or statement that facts are cited from."""

    slug: Slug
    path: SourcePath
    name: str
    kind: str
    """One of SOURCE_KINDS."""
    publisher: str | None = None
    published: PartialDate | None = None
    url: str | None = None
    lang: str | None = None
    archive: str | None = None
    """File name of an archived plain-text copy (looked up in --archive DIR)."""
    description: str | None = None
    """What this source is, in the editors' words (Markdown)."""
    via: tuple[Ref, ...] = ()
    """Sources through which this one is known (e.g. a post quoted by a report)."""
    line_of: tuple[tuple[str, int], ...] = ()
    """Lines of top-level fields, for errors found after validation."""


@dataclass(frozen=True, slots=True)
class Track:
    """A display lane of the timeline."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Fact:
    """A key fact or figure for the home page."""

    label: str
    value: str
    sources: tuple[Citation, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Question:
    """An open question the dossier cannot yet answer."""

    text: str
    sources: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True)
class Site:
    """content/dossier.yaml: the dossier as a whole."""

    title: str
    summary: str
    path: SourcePath
    subtitle: str | None = None
    language: str = "en"
    timezone: str | None = None
    as_of: PartialDate | None = None
    site_url: str | None = None
    tracks: tuple[Track, ...] = ()
    key_facts: tuple[Fact, ...] = ()
    open_questions: tuple[Question, ...] = ()
    key_people: tuple[Ref, ...] = ()
    author: str | None = None
    """Who publishes the dossier (feeds); the title's editors if absent."""
    cname: str | None = None
    """Custom domain for GitHub Pages: written to a CNAME file."""
    line_of: tuple[tuple[str, int], ...] = ()
    """Lines of top-level fields, for errors found after validation."""


@dataclass(frozen=True, slots=True)
class Content:
    """Everything validated, not yet linked."""

    site: Site
    events: tuple[Event, ...]
    people: tuple[Person, ...]
    organizations: tuple[Organization, ...]
    sources: tuple[Source, ...]
    unreadable: frozenset[str] = frozenset()
    """Slugs of files that failed to parse: references to them are not errors twice."""
    drafts: frozenset[str] = frozenset()
    """Slugs of drafts, which are left out of the site."""
    links: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(record path, what its Markdown texts link to with [[...]]: the targets as written,
    each once) for the site and every record, found when the record was validated and
    kept with its outcome, so linking does not scan every text again."""


def markdown_texts(record):
    """(owner, field, text, line, is_body) for every Markdown text of a site, event,
    person, organization or source record. ``owner`` is the record, or the quote a
    context belongs to. Links in a body are at body_line + their line offset; in a YAML
    field, at the field's own line."""
    lines = dict(record.line_of)
    if isinstance(record, Site):
        yield record, "summary", record.summary, lines.get("summary"), False
        for question in record.open_questions:
            yield record, "open_questions", question.text, lines.get("open_questions"), False
        for fact in record.key_facts:
            if fact.note:
                yield record, "key_facts", fact.note, lines.get("key_facts"), False
    elif isinstance(record, Event):
        yield record, "summary", record.summary, lines.get("summary"), False
        yield record, "body", record.body, record.body_line, True
        for quote in record.quotes:
            if quote.context:
                yield quote, "context", quote.context, quote.line, False
        for conflict in record.conflicts:
            for text in (conflict.note or "", *(v.text for v in conflict.versions)):
                yield record, "conflicts", text, conflict.line, False
    else:
        field = "description" if isinstance(record, Source) else "summary"
        text = getattr(record, field)
        if text:
            yield record, field, text, lines.get(field), False
