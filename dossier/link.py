"""Resolve every reference and build the indexes and backlinks: Content -> Dossier.

Pure: takes the validated model, returns a linked ``Dossier`` and appends a located
problem (with a did-you-mean suggestion) for each reference that does not resolve.
Every index is built in one pass over the records, so linking grows linearly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Union

from .errors import ContentProblem, did_you_mean
from .model import (Citation, Conflict, Content, Event, Organization, Person, Position,
                    Quote, Ref, Site, Source, constructor, markdown_texts)
from .urls import Slug, Url, page_url
from .wikilinks import find_wikilinks

Entity = Union[Event, Person, Organization, Source]
KIND_OF = {Event: "event", Person: "person", Organization: "organization", Source: "source"}


@dataclass(frozen=True, slots=True)
class Backlink:
    """A page that points at a record: a mention, a participation or a citation."""

    page: Url
    """The page that holds the link."""
    title: str
    """That page's title."""
    kind: str
    """Kind of the record whose page it is ('event', 'person', ... or 'home')."""
    detail: str | None = None
    """A role, a locator or a note, when there is one."""
    owner: str = ""
    """Slug of the record whose page it is ('' for the home page)."""


new_backlink = constructor(Backlink, "new_backlink")
"""``Backlink(page, title, kind, detail, owner)``, all five given, made faster (link makes
sixty thousand at 10,000 events)."""


class Names:
    """What a reference shows of a record, by its slug: its name and kind (all that a
    Markdown text needs of the records it links to). Made of ``entities``."""

    __slots__ = ()
    entities: dict[Slug, Entity]

    # Slug(...) is left out of these lookups: a NewType is a call that returns its
    # argument, and templates ask for kinds and names two million times at 10k events.
    def kind(self, slug: str) -> str:
        return KIND_OF[type(self.entities[slug])]

    def name(self, slug: str) -> str:
        entity = self.entities[slug]
        return entity.title if isinstance(entity, Event) else entity.name

    def url(self, slug: str) -> Url:
        return page_url(self.kind(slug), slug)

    @staticmethod
    def body(event: Event) -> str:
        """An event's Markdown body: what code outside templates reads it by, so that a
        TrackedDossier records its ``body:`` key (deps.py)."""
        return event.body


@dataclass(frozen=True, slots=True)
class Named(Names):
    """The Names of validated content, before it is linked (``names_of``)."""

    entities: dict[Slug, Entity]


def names_of(content: Content) -> Named:
    """Every record a reference can name, by slug."""
    return Named({record.slug: record for record in
                  (*content.events, *content.people, *content.organizations, *content.sources)})


@dataclass(frozen=True, slots=True)
class Dossier(Names):
    """The whole dossier, every reference resolved, every index built."""

    site: Site
    events: tuple[Event, ...]
    """In date order (then slug), the order of the timeline."""
    people: tuple[Person, ...]
    """By name."""
    organizations: tuple[Organization, ...]
    """By name."""
    sources: tuple[Source, ...]
    """By name."""
    quotes: tuple[Quote, ...]
    """By date said, then event order."""
    entities: dict[Slug, Entity]
    """Every record by slug."""
    quotes_by_id: dict[str, Quote]
    events_of: dict[Slug, tuple[tuple[Event, str | None], ...]]
    """Person/organization -> (event, role) it takes part in, in date order."""
    quotes_by: dict[Slug, tuple[Quote, ...]]
    """Speaker -> quotes, in date order."""
    quotes_from: dict[Slug, tuple[Quote, ...]]
    """Source -> quotes it reports or is credited for, in date order."""
    mentions_of: dict[Slug, tuple[Backlink, ...]]
    """Record -> pages whose text links to it with [[...]]."""
    cited_by: dict[Slug, tuple[Backlink, ...]]
    """Source -> pages that cite it."""
    related_of: dict[Slug, tuple[Event, ...]]
    """Event -> related events, in both directions."""
    members_of: dict[Slug, tuple[tuple[Person, Position], ...]]
    """Organization -> people who held a position in it."""
    children_of: dict[Slug, tuple[Organization, ...]]
    """Organization -> organizations whose parent it is."""
    conflicts: tuple[tuple[Event, Conflict], ...]
    """Every discrepancy, in timeline order."""
    event_index: dict[Slug, int] = field(default_factory=dict)
    """Event slug -> position in ``events`` (for previous/next)."""
    hrefs: dict[str, dict[str, str]] = field(default_factory=dict, init=False,
                                             compare=False, repr=False)
    """Folder -> record slug (or output path) -> relative link from a page in that folder
    to the record's page (or that file), made the first time a page there asks
    (pages.Here.ref and url): half a million links at 10,000 events, to far fewer
    pages. Each Dossier starts with its own (not copied by ``replace``)."""
    plains: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict, init=False,
                                                           compare=False, repr=False)
    """Markdown text -> pages.plain of it, with the links it looked up (see there)."""
    reads: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict, init=False,
                                                         compare=False, repr=False)
    """(index, key) -> the dependency keys a read of that entry leaves (deps.TrackedIndex):
    its own and those of the records it shows, made once per dossier."""
    drawn: dict[str, object] = field(default_factory=dict, init=False, compare=False,
                                     repr=False)
    """Chart layouts by name, made once for every page that shows them (the timeline
    and the single-file edition draw the same 10,000 marks): "timeline" -> (its
    pages.timeline_key, pages.timeline_layouts), made by the first page that draws
    them or ahead (pages.take_layouts)."""
    rendered: dict[tuple[bool, str], tuple[str, tuple[str, ...]]] = field(
        default_factory=dict, init=False, compare=False, repr=False)
    """(inline, Markdown text) -> its portable HTML and the targets of its [[links]], once
    a page found it in the memo, valid for this dossier's names, or rendered it
    (pages.Here.markdown): a text shown again (36,000 of the 61,000 texts the pages of
    10,000 events show) is neither searched for links nor checked again."""


def timeline_order(events) -> tuple[Event, ...]:
    """Events in the timeline's order: by date, then slug (Dossier.events)."""
    return tuple(sorted(events, key=lambda e: (e.when.sort_key(), e.slug)))


def link(content: Content, problems: list[ContentProblem]) -> Dossier:
    """Resolve references and build every index; unresolved ones become problems."""
    entities = names_of(content).entities
    tracks = tuple(t.slug for t in content.site.tracks) if content.site.tracks else None
    check = _Checker(entities, problems, tracks, content.unreadable, content.drafts)
    events = timeline_order(content.events)
    order = {e.slug: i for i, e in enumerate(events)}     # the timeline's order
    quotes = [q for e in events for q in e.quotes]
    quotes_by_id = _index_quotes(quotes, problems)
    _check_replies(quotes_by_id, problems)
    _check_site(content.site, check)
    events_of, quotes_by, cited_by, related_of = (defaultdict(list) for _ in range(4))
    for event in events:
        _link_event(event, check, quotes_by_id, events_of, quotes_by, cited_by, related_of)
    members_of, children_of = defaultdict(list), defaultdict(list)
    for person in content.people:
        _link_person(person, check, cited_by, members_of)
    for org in content.organizations:
        _link_organization(org, check, cited_by, children_of)
    for source in content.sources:
        for ref in source.via:
            check.ref(source, ref, ("source",))
    by_name = lambda r: (r.name.casefold(), r.slug)  # noqa: E731
    return Dossier(
        site=content.site, events=events,
        people=tuple(sorted(content.people, key=by_name)),
        organizations=tuple(sorted(content.organizations, key=by_name)),
        sources=tuple(sorted(content.sources, key=by_name)),
        quotes=tuple(sorted(quotes, key=lambda q: q.said.sort_key())),
        entities=entities, quotes_by_id=quotes_by_id,
        events_of=_freeze(events_of), quotes_by=_freeze(quotes_by),
        quotes_from=_quotes_from(quotes),
        mentions_of=_mentions(content, events, check), cited_by=_backlinks(cited_by),
        related_of={slug: tuple(sorted({e.slug: e for e in found}.values(),
                                       key=lambda e: order[e.slug]))
                    for slug, found in related_of.items()},
        members_of=_freeze(members_of), children_of=_freeze(children_of),
        conflicts=tuple((e, c) for e in events for c in e.conflicts),
        event_index=order)


class _Checker:
    """Resolves refs against the entity table, recording problems."""

    def __init__(self, entities: dict, problems: list[ContentProblem],
                 tracks: tuple[str, ...] | None, unreadable: frozenset[str],
                 drafts: frozenset[str] = frozenset()):
        self.entities, self.problems, self.tracks = entities, problems, tracks
        self.unreadable, self.drafts = unreadable, drafts

    def track(self, event: Event) -> None:
        """An event's track must be one of the tracks listed in dossier.yaml."""
        if event.track is None or self.tracks is None or event.track in self.tracks:
            return
        self.problem(event, dict(event.line_of).get("track"), "track",
                     f"unknown track '{event.track}'" + did_you_mean(event.track, self.tracks))

    def ref(self, owner, ref: Ref | None, kinds: tuple[str, ...]) -> Entity | None:
        if ref is None:
            return None
        target = self.entities.get(ref.slug)
        if target is not None and KIND_OF[type(target)] in kinds:
            return target                             # the common case, first
        wanted = " or ".join(kinds)
        article = "an" if wanted[0] in "aeiou" else "a"
        if target is None and ref.slug in self.unreadable:
            return None  # its file failed to parse; that problem is already reported
        if target is None and ref.slug in self.drafts:
            self.problem(owner, ref.line, ref.field, f"'{ref.slug}' is a draft; publish it "
                         "(remove 'draft: true') or remove this reference")
            return None
        if target is None:
            candidates = [s for s, e in self.entities.items() if KIND_OF[type(e)] in kinds]
            self.problem(owner, ref.line, ref.field,
                         f"unknown {wanted} '{ref.slug}'" + did_you_mean(ref.slug, candidates))
            return None
        found = KIND_OF[type(target)]
        self.problem(owner, ref.line, ref.field, f"'{ref.slug}' is "
                     f"{'an' if found[0] in 'aeiou' else 'a'} {found}, not {article} {wanted}")
        return None

    def problem(self, owner, line: int | None, field: str, message: str) -> None:
        self.problems.append(ContentProblem(owner.path, line, field, message))

    def citations(self, owner, cites: tuple[Citation, ...], page: Url, title: str, kind: str,
                  cited_by) -> None:
        slug, get = _owner_slug(owner), self.entities.get
        for cite in cites:
            source = cite.source                      # a source, as usual, or else ref()
            if type(get(source.slug)) is Source or self.ref(owner, source, _SOURCE):
                cited_by[source.slug].append((page, title, kind, cite.locator or cite.note,
                                              slug))


_SOURCE, _PARTY = ("source",), ("person", "organization")
_PARTIES = (Person, Organization)
"""What a citation and a participant or speaker name. link's loops test the usual case, a
record of such a type, inline, and ask _Checker.ref only otherwise (which reports it):
79,000 calls at 10,000 events, 0.05 s of linking's 0.34 s under the profiler."""


def _index_quotes(quotes: list[Quote], problems: list[ContentProblem]) -> dict[str, Quote]:
    index: dict[str, Quote] = {}
    for quote in quotes:
        if quote.id in index:
            problems.append(ContentProblem(quote.path, quote.line, "id", f"duplicate quote id "
                                           f"'{quote.id}' (also in {index[quote.id].path})"))
        index.setdefault(quote.id, quote)
    return index


def _check_replies(quotes: dict[str, Quote], problems: list[ContentProblem]) -> None:
    """responds_to must not loop back to the quote itself."""
    for quote in quotes.values():
        seen, cursor = {quote.id}, quote
        while cursor.responds_to and cursor.responds_to.slug in quotes:
            cursor = quotes[cursor.responds_to.slug]
            if cursor.id in seen:
                if cursor.id == quote.id:
                    problems.append(ContentProblem(
                        quote.path, quote.responds_to.line, quote.responds_to.field,
                        f"responds_to goes round in a circle back to '{quote.id}'"))
                break
            seen.add(cursor.id)


def _check_site(site: Site, check: _Checker) -> None:
    for ref in site.key_people:
        check.ref(site, ref, ("person", "organization"))
    for fact in site.key_facts:
        check.citations(site, fact.sources, Url("index.html"), site.title, "home",
                        defaultdict(list))
    for question in site.open_questions:
        check.citations(site, question.sources, Url("index.html"), site.title, "home",
                        defaultdict(list))


def _link_event(event: Event, check: _Checker, quotes_by_id, events_of, quotes_by, cited_by,
                related_of) -> None:
    page = page_url("event", event.slug)
    get = check.entities.get
    if event.track is not None:
        check.track(event)
    for participant in event.participants:
        ref = participant.ref
        if type(get(ref.slug)) in _PARTIES or check.ref(event, ref, _PARTY):
            events_of[ref.slug].append((event, participant.role))
    check.citations(event, event.sources, page, event.title, "event", cited_by)
    for quote in event.quotes:
        speaker = quote.speaker
        if type(get(speaker.slug)) in _PARTIES or check.ref(quote, speaker, _PARTY):
            quotes_by[speaker.slug].append(quote)
        check.citations(quote, (quote.source,), page, event.title, "event", cited_by)
        for ref in quote.via:
            if type(get(ref.slug)) is Source or check.ref(quote, ref, _SOURCE):
                cited_by[ref.slug].append((page, event.title, "event", "quote", event.slug))
        if quote.responds_to and quote.responds_to.slug not in quotes_by_id:
            check.problem(quote, quote.responds_to.line, quote.responds_to.field,
                          f"unknown quote id '{quote.responds_to.slug}'"
                          + did_you_mean(quote.responds_to.slug, quotes_by_id))
    for conflict in event.conflicts:
        for version in conflict.versions:
            check.citations(event, version.sources, page, event.title, "event", cited_by)
    for ref in event.related:
        if ref.slug == event.slug:
            check.problem(event, ref.line, ref.field, "an event cannot be related to itself")
        elif target := check.ref(event, ref, ("event",)):
            related_of[event.slug].append(target)
            related_of[target.slug].append(event)


def _link_person(person: Person, check: _Checker, cited_by, members_of) -> None:
    page = page_url("person", person.slug)
    check.citations(person, person.sources, page, person.name, "person", cited_by)
    check.ref(person, person.party, ("organization",))
    for position in person.positions:
        if check.ref(person, position.organization, ("organization",)):
            members_of[position.organization.slug].append((person, position))
        check.citations(person, position.sources, page, person.name, "person", cited_by)


def _link_organization(org: Organization, check: _Checker, cited_by, children_of) -> None:
    page = page_url("organization", org.slug)
    check.citations(org, org.sources, page, org.name, "organization", cited_by)
    if check.ref(org, org.parent, ("organization",)):
        seen, cursor = {org.slug}, org
        while cursor.parent and cursor.parent.slug in check.entities:
            cursor = check.entities[cursor.parent.slug]
            if not isinstance(cursor, Organization) or cursor.slug in seen:
                if isinstance(cursor, Organization):
                    check.problem(org, org.parent.line, "parent",
                                  f"parent chain loops back to '{cursor.slug}'")
                break
            seen.add(cursor.slug)
        children_of[org.parent.slug].append(org)


def _mentions(content: Content, events, check: _Checker) -> dict[Slug, tuple[Backlink, ...]]:
    """Which pages link to each record with [[...]], from the targets validate found in
    each record's texts (in the order of the site, the timeline, people, organizations
    and sources). An unknown target is reported at every place it is written."""
    links = dict(content.links)
    site = content.site
    mentions = defaultdict(list)
    entities = check.entities
    for kind, records in (("home", (site,)), ("event", events), ("person", content.people),
                          ("organization", content.organizations), ("source", content.sources)):
        for record in records:
            targets = links.get(record.path)
            if not targets:
                continue                              # most records link to nothing
            if kind == "home":
                page, title, slug = Url("index.html"), site.title, ""
            else:
                page, slug = page_url(kind, record.slug), record.slug
                title = record.title if kind == "event" else record.name
            unknown = set()
            for target in targets:
                if target == slug:
                    continue                          # a page does not mention itself
                if target in entities:
                    mentions[target].append((page, title, kind, None, slug))
                elif target not in check.unreadable:
                    unknown.add(target)
            if unknown:
                _unknown_links(record, unknown, check)
    return {Slug(slug): tuple([new_backlink(*found) for found in values])
            for slug, values in mentions.items()}


def _unknown_links(record, unknown: set[str], check: _Checker) -> None:
    for owner, where_field, text, line, is_body in markdown_texts(record):
        for wikilink in find_wikilinks(text):
            if wikilink.target in unknown:
                where = (line or 1) + wikilink.line if is_body else line
                check.problem(owner, where, where_field, f"unknown link target '[[{wikilink.target}]]'"
                              + did_you_mean(wikilink.target, check.entities))


def _quotes_from(quotes: list[Quote]) -> dict[Slug, tuple[Quote, ...]]:
    found = defaultdict(list)
    for quote in sorted(quotes, key=lambda q: q.said.sort_key()):
        for slug in dict.fromkeys([quote.source.source.slug, *(r.slug for r in quote.via)]):
            found[slug].append(quote)
    return _freeze(found)


def _owner_slug(owner) -> str:
    """The slug of the record a problem or backlink belongs to ('' for the site)."""
    if isinstance(owner, Quote):
        return owner.event
    return getattr(owner, "slug", "")


def _freeze(index) -> dict:
    return {key: tuple(values) for key, values in index.items()}


def _backlinks(index: dict[str, list[tuple]]) -> dict[Slug, tuple[Backlink, ...]]:
    """Each entry's Backlinks, from their fields, each once (in the order first met): the
    same backlinks twice are taken once as plain tuples, whose hashes are made in C; as
    Backlinks each hash was a call of the dataclass's own __hash__ (29,000 at 10,000
    events)."""
    return {key: tuple([new_backlink(*fields) for fields in dict.fromkeys(values)])
            for key, values in index.items()}


def role_on(person: Person, event: Event) -> Position | None:
    """The position a person held when an event happened ('then Prime Minister').

    A position's known span runs from ``start`` (or, when the start is not known, the
    ``in_office`` date the sources attest) to ``end`` (or, without an end, open when the
    start is known and the ``in_office`` period otherwise). Unknown spans never match.
    """
    start, end = event.when.start.first_day(), (event.when.end or event.when.start).last_day()
    for position in reversed(person.positions):
        began, ended = _span(position)
        if began is not None and began <= end and (ended is None or ended >= start):
            return position
    return None


def _span(position: Position):
    attested = position.in_office
    began = position.start or attested
    if position.end is not None:
        ended = position.end
    else:
        ended = attested if position.start is None else None
    return (began.first_day() if began else None, ended.last_day() if ended else None)
