"""Which pages the site has, and the context each one gets: Dossier -> [PageSpec].

The list of page kinds is data (``plan``); each spec names its output URL, its
template and its context. URLs inside pages are made by ``Here``, never glued
together in templates.

Context of every page: ``site`` (model.Site), ``dossier`` (link.Dossier), ``here``
(a Here bound to the page), ``title`` (str), ``description`` (str). Page kinds add:
home: ``latest`` (events, newest first), ``key_people``; timeline: ``years``
([(year, [(month, [events])])]); event: ``event``, ``previous``, ``next``;
person: ``person``; organization: ``organization``; quotes: ``by_speaker``;
source: ``source``.
"""

from __future__ import annotations

import secrets
from collections import Counter
from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterable, Iterator, NamedTuple
from dataclasses import dataclass
from itertools import groupby

from jinja2.runtime import Macro
from jinja2.utils import missing
from markupsafe import Markup

from . import charts as charts_
from . import structured
from .dates import MONTHS, PartialDate, When, month_heading
from .deps import blocked, fingerprint, keys, rec
from .escaping import escape_text, safe
from .link import Dossier, Names, role_on, timeline_order
from .markdown import localize, render_portable
from .model import Content, Event, Organization, Person, Quote, Source
from .wikilinks import WIKILINK_RE, find_wikilinks
from .urls import (DISCREPANCIES, INDEX, NOT_FOUND, PEOPLE, QUOTES, SEARCH, SINGLE, SOURCES,
                   STYLESHEET,
                   TIMELINE, Url, absolute, page_url, quote_url, relative)

NAV = ((INDEX, "Home"), (TIMELINE, "Timeline"), (PEOPLE, "Who’s who"), (QUOTES, "Quotes"),
       (SOURCES, "Sources"), (DISCREPANCIES, "Discrepancies"))
LATEST = 6


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page to render."""

    url: Url
    """Output path relative to the site root."""
    template: str
    """Template file name in templates/."""
    context: dict
    """Page-kind specific context (the common context is added by render)."""
    title: str
    """Page title (without the site name)."""
    description: str
    """One-sentence description for meta tags (Markdown when ``summary``)."""
    deps: frozenset[str] = frozenset()
    """Dependency keys known before rendering (see deps.py); rendering adds the rest."""
    single: bool = False
    """True for the single-file edition, whose links are anchors inside the file."""
    streamed: bool = False
    """Written into its file as it renders, never held whole: the pages that list every
    record (the timeline alone is 8.6 MB at 10,000 events)."""
    summary: bool = False
    """The description is a record's Markdown summary, made plain text (``plain``) only
    when the page renders: most pages of an edit's plan never do."""


class Here:
    """Helpers bound to one page: relative URLs and Markdown rendered for that page."""

    def __init__(self, dossier: Dossier, url: Url, deps: set[str] | None = None,
                 memo: dict | None = None, fragments: dict | None = None,
                 splice: bool = False):
        self.dossier, self.page = dossier, url
        self.deps: set[str] = set() if deps is None else deps
        self.memo = {} if memo is None else memo
        self.splice = splice
        """Lists are handed to the template as placeholders (see ``cached``): the page is
        streamed, from templates that write them as they are (render.splice_safe)."""
        self.fragments = fragments
        """Pieces of this page that the previous build's file holds unchanged, by (page,
        macro, arguments): see ``cached``. None: none are kept, pieces are made as the
        page is written."""
        self.placed: dict[int, Iterable] = {}
        """The pieces behind each placeholder handed out (see ``cached``), by number."""
        self.tracked = None
        """The TrackedDossier templates see, whose reads are recorded in ``deps`` too."""
        self.base = url.rpartition("/")[0]
        """Links from this page depend only on its folder: pages in one folder share charts."""
        self.hrefs = dossier.hrefs.setdefault(self.base, {})
        """Links from this page's folder to records (by slug) and to other files (by
        path): Dossier.hrefs."""

    def url(self, target: str) -> str:
        """Relative link from this page to another output file."""
        href = self.hrefs.get(target)
        if href is None:
            href = relative(self.page, Url(target))
            if "#" not in target:                 # else it may be this page's own anchor
                self.hrefs[target] = href
        return href

    def ref(self, slug: str) -> str:
        """Relative link to a record's page (the same from every page of a folder)."""
        self.deps.add(rec(slug))
        href = self.hrefs.get(slug)
        if href is None:
            href = self.hrefs[slug] = relative(self.page, self.dossier.url(slug))
        return href

    def quote(self, quote: Quote) -> str:
        """Relative link to a quote's anchor in the quote index."""
        return relative(self.page, quote_url(quote.id))

    def name(self, slug: str) -> str:
        self.deps.add(rec(slug))
        return self.dossier.name(slug)

    def kind(self, slug: str) -> str:
        self.deps.add(rec(slug))
        return self.dossier.kind(slug)

    def markdown(self, text: str, doc_id: str = "") -> Markup:
        return self._rendered(text or "", False, doc_id)

    def inline(self, text: str) -> Markup:
        return self._rendered(text or "", True, "")

    def _rendered(self, text: str, inline: bool, doc_id: str) -> Markup:
        """Markdown as HTML for this page. The memo keeps one portable rendering per text
        (markdown.render_portable) while the names and kinds of everything it links to
        are unchanged; each page fills in its own links and ids. Once found valid for
        this dossier (or made), it is kept with the text's link targets in
        Dossier.rendered."""
        html, targets = rendered(self.dossier, self.memo, text, inline)
        for target in targets:
            self.deps.add(rec(target))
        return safe(localize(html, doc_id, self.ref))

    def each(self, macro, items) -> Markup:
        """``here.cached(macro, item)`` for every item, joined: one call from the template
        for a whole list (a call from Jinja costs more than the lookup it makes)."""
        if not self.splice:
            whole = self._whole
            return safe("".join([whole(macro, (item,)) for item in items]))
        return self._placeholder(self._blocks(macro.name, macro, items, b""))

    def cached(self, macro, *args) -> Markup:
        """``macro(*args)``, copied from the previous build's file while nothing it read
        has changed.

        Pages that list every record (timeline, directories, the single-file edition)
        render each record's piece through here, so an edit re-renders one piece and
        copies the others. A piece's dependency keys are recorded with it, apart from the
        page's; the pipeline drops a piece as soon as one of them changes, and renders its
        page again (``incremental.valid_fragments``). Arguments are records, quotes or
        plain values.

        In a streamed page (written by write.Sink) from templates that write what these
        return as it is (render.splice_safe: ``splice``), the template gets a placeholder,
        which render.stream_page replaces, as it writes the page, by the pieces: made
        then (one block at a time: the single-file edition's lists are 40 MB at 10,000
        events), or copied from the previous file. A build that keeps nothing (no
        ``fragments``) makes the same pieces, so that its files have the same digests
        (see write.Sink)."""
        if not self.splice:
            return safe(self._whole(macro, args))
        return self._placeholder([self._piece(macro.name, macro, args)])

    PLACEHOLDER = "\x00" + secrets.token_hex(8) + "-"
    """Starts every placeholder: a NUL and a nonce no content can know; then its number,
    and a NUL (render.stream_page)."""
    SPLICING = ("each", "cached", "jsonld")
    """The methods whose result may hold placeholders (render.splice_safe)."""

    def _placeholder(self, chunks: Iterable) -> Markup:
        """A placeholder for ``chunks``: pieces, and bytes between them, in a list or as
        they are made."""
        number = len(self.placed)
        self.placed[number] = chunks
        return safe(f"{self.PLACEHOLDER}{number}\x00")

    def _whole(self, make, args: tuple) -> str:
        """``make(*args)`` as a string, for a template that gets lists whole (no splice),
        its records' keys recorded in the page's."""
        self.deps.update([rec(slug) for slug in _arg_slugs(args)])
        return macro_text(make, args)

    def _blocks(self, name: str, make, items, separator: bytes) -> Iterator:
        """``make(item)`` for every item, with ``separator`` between them, as chunks for
        write.Sink (deps.blocked, under this page and ``name``): in blocks, each made
        when the page's writer comes to it or copied from the previous file.

        What a piece reads is recorded with the piece, not in the page's dependencies:
        the pipeline renders the page again when it drops one of its pieces
        (incremental.valid_fragments), and the state does not hold every record's keys
        again for each page that lists them all (8 MB at 10,000 events)."""
        def made(run: list) -> tuple[bytes, tuple[str, ...]]:
            inner = {rec(slug) for slug in _arg_slugs(run)}
            with self._recording(inner):
                data = separator.join([macro_text(make, (item,)).encode("utf-8")
                                       for item in run])
            return data, keys(inner)
        return blocked(self.fragments, self.page, name, items, separator, made)

    def _piece(self, name: str, make, args: tuple) -> tuple:
        """``make(*args)`` as a piece for write.Sink (see deps.pieces and _blocks): (key,
        UTF-8 bytes or the span of the previous file that holds them, dependency keys)."""
        key = (self.page, name, tuple(map(_ident, args)))
        hit = None if self.fragments is None else self.fragments.get(key)
        if hit is not None:
            return key, hit, hit[2]
        inner = {rec(slug) for slug in _arg_slugs(args)}
        with self._recording(inner):
            text = macro_text(make, args)
        return key, text.encode("utf-8"), keys(inner)

    @contextmanager
    def _recording(self, deps: set[str]):
        """Record what is read meanwhile into ``deps`` instead of the page's."""
        outer = self.deps
        self._record_into(deps)
        try:
            yield
        finally:
            self._record_into(outer)

    @staticmethod
    def conflict_index(event: Event, conflict) -> int:
        """Position of a discrepancy among its event's (to name it in here.cached)."""
        return event.conflicts.index(conflict)

    def _record_into(self, deps: set[str]) -> None:
        self.deps = deps
        if self.tracked is not None:
            self.tracked._deps = deps

    def nav(self) -> list[tuple[str, str, bool]]:
        return [(label, self.url(url), url == self.page) for url, label in NAV]

    def role_label(self, record) -> str:
        return role_label(record)

    def track(self, slug: str) -> str:
        """Display name of a timeline track."""
        return next((t.name for t in self.dossier.site.tracks if t.slug == slug), slug)

    def plain(self, text: str) -> str:
        """Markdown text as one plain line (wikilinks become names)."""
        for link in find_wikilinks(text or ""):
            self.deps.add(rec(link.target))
        return plain(self.dossier, text or "")

    def absolute(self, target: str | None = None) -> str | None:
        """Absolute URL of a page (this one by default), or None without a site_url."""
        site_url = self.dossier.site.site_url
        return absolute(site_url, Url(target or self.page)) if site_url else None

    def jsonld(self, kind: str, record=None) -> Markup:
        """The page's schema.org JSON-LD as a <script> element."""
        if kind == "event":
            graph = structured.event_graph(self, record)
        elif kind in ("person", "organization"):
            graph = structured.profile_graph(self, record,
                                             self.dossier.quotes_by.get(record.slug, ()))
            self.deps.add(f"idx:quotes_by:{record.slug}")
        elif kind == "source":
            graph = structured.source_graph(self, record)
        elif kind == "home":
            graph = structured.home_graph(self, self.dossier)
        elif kind == "quotes":                   # one cached piece per quote
            self.deps.add("all:event")
            node = lambda q: structured.safe_json(structured.quotation(self, q))  # noqa: E731
            if not self.splice:
                return structured.script_of([self._whole(node, (q,))
                                             for q in self.dossier.quotes])
            return structured.script_of([self._placeholder(
                self._blocks("jsonld-quote", node, self.dossier.quotes, b","))])
        else:
            graph = structured.page_graph(self, record or "", "")
        return structured.script(graph)

    def root(self) -> str:
        """Relative path from this page to the site root ('' or '../')."""
        return "../" * self.page.count("/")

    def period_text(self, position) -> str:
        """A position's period in words, as precise as it is known."""
        if position.start and position.end:
            return f"{position.start.human()} – {position.end.human()}"
        if position.start:
            return f"since {position.start.human()}"
        if position.end:
            return f"until {position.end.human()} (start not stated)"
        if position.in_office:
            return f"in office in {position.in_office.human()} (start not stated)"
        return "dates not stated"

    def timeline_charts(self) -> list[tuple[str, Markup]]:
        """The overview chart, and a close-up of the busiest month when there is one.

        Kept in the memo while the events' slugs, dates and tracks are unchanged (a body
        edit does not redraw a 10,000-event chart), under the fingerprint of those (the
        values themselves were 11 MB read back from the cache on every edit) and the
        events' titles themselves: after a title edit, the marks of the events whose titles
        changed are named afresh (charts.retitled). Naming every mark afresh took 0.05 s
        at 10,000 events, in each page that shows the charts."""
        self.deps.add("all:event")
        events = self.dossier.events
        drawn = self.dossier.drawn.get("timeline")     # laid out for this dossier
        layout = drawn[0] if drawn else self.dossier.drawn.get("timeline-key") or \
            timeline_key(self.dossier.site.tracks, events)
        titles = tuple([e.title for e in events])
        key = timeline_memo_key(self.base)
        hit = self.memo.get(key)
        if hit is not None and hit[1] == (layout, titles):
            return [(caption, Markup(svg)) for caption, svg in hit[0]]
        if hit is not None and hit[1][0] == layout and len(hit[1][1]) == len(events):
            retitled = {event.slug: event for event, title in zip(events, hit[1][1])
                        if event.title != title}                # the marks to name afresh
            charts = [(caption, Markup(charts_.retitled(svg, retitled)))
                      for caption, svg in hit[0]]
        elif (svgs := self.dossier.drawn.get("timeline-svg", {}).get(self.base)) is not None:
            self.deps.update([rec(event.slug) for event in events])  # as draw_timeline's refs
            charts = [(caption, Markup(svg)) for (caption, _), svg in zip(drawn[1], svgs)]
        else:
            if drawn is None:                          # laid out once for every page
                drawn = self.dossier.drawn["timeline"] = (
                    layout, timeline_layouts(self.dossier.site.tracks, list(events)))
            charts = [(caption, charts_.draw_timeline(self, found))
                      for caption, found in drawn[1]]
        self.memo[key] = ([(caption, str(svg)) for caption, svg in charts], (layout, titles))
        return charts

    def roles_chart(self, person) -> Markup:
        return charts_.roles_svg(self, person)

    def network(self):
        """The relationship map and, as its text alternative, every pair with its events.

        Kept in the memo while who takes part in which event is unchanged (finding who
        appears with whom takes 0.07 s at 10,000 events), whatever the events' order: the
        map shows no event, and the list under it reads each event afresh from the events
        the memo names, in the timeline's order. The map itself, of at most NETWORK_NODES
        names, is drawn again when a name, kind or country changed."""
        self.deps.update({"all:event", "all:person", "all:organization"})
        dossier = self.dossier
        who = fingerprint(tuple(sorted([(e.slug, tuple([p.ref.slug for p in e.participants]))
                                        for e in dossier.events])))
        names = fingerprint(tuple((r.slug, r.name, r.country)
                                  for r in (*dossier.people, *dossier.organizations)))
        key = ("network", self.base)
        hit = self.memo.get(key)
        if hit is not None and hit[1][0] == who:
            svg, slug_pairs, count = hit[0]
            events, order = dossier.entities, dossier.event_index
            pairs = {pair: [events[slug] for slug in sorted(slugs, key=order.get)]
                     for pair, slugs in slug_pairs}
            if hit[1][1] == names:
                return Markup(svg), pairs, count
        else:
            pairs, count = charts_.network_pairs(dossier)
            slug_pairs = tuple((pair, tuple(e.slug for e in found))
                               for pair, found in pairs.items())
        svg = str(charts_.network_svg(self, dossier, pairs))
        self.memo[key] = ((svg, slug_pairs, count), (who, names))
        return Markup(svg), pairs, count

    def participants(self, event: Event, kind: str) -> list[str]:
        """Slugs of an event's participants of one kind (for the timeline filters)."""
        return [p.ref.slug for p in event.participants if self.kind(p.ref.slug) == kind]

    # Small HTML pieces used everywhere: Python, not Jinja macros (a macro call costs
    # about twenty times more, and pages make hundreds of them).
    def when(self, when) -> Markup:
        """<time> with the machine-readable date and the honest human one."""
        return safe(f'<time datetime="{when.iso()}">{escape_text(when.human())}</time>')  # iso: digits

    def link(self, slug: str, label: str | None = None) -> Markup:
        """A link to a record's page, named by the record (or by ``label``)."""
        return safe(f'<a class="ref ref-{escape_text(self.kind(slug))}" href="{escape_text(self.ref(slug))}">'
                      f'{escape_text(label or self.name(slug))}</a>')

    def cites(self, citations) -> Markup:
        """'(Sources: A, locator; B — note)' after a statement."""
        if not citations:
            return Markup("")
        parts = []
        for c in citations:
            part = f'<a href="{escape_text(self.ref(c.source.slug))}">{escape_text(self.name(c.source.slug))}</a>'
            if c.locator:
                part += f", {escape_text(c.locator)}"
            if c.note:
                part += f" — {escape_text(c.note)}"
            parts.append(part)
        return safe(f'<span class="cites">(Sources: {"; ".join(parts)})</span>')

    def stylesheet(self) -> str:
        return self.url(STYLESHEET)

    def role_then(self, slug: str, event: Event):
        """The position a person held at the time of an event, or None."""
        self.deps.add(rec(slug))
        person = self.dossier.entities.get(slug)
        return role_on(person, event) if isinstance(person, Person) else None


class SingleHere(Here):
    """Helpers for the single-file edition: every link is an anchor inside the file."""

    ANCHORS = {"index.html": "#top", "timeline.html": "#timeline", "people.html": "#people",
               "quotes.html": "#quotes", "sources.html": "#sources",
               "discrepancies.html": "#discrepancies", "search.html": "#top"}

    def url(self, target: str) -> str:
        path, _, fragment = target.partition("#")
        if fragment:
            return f"#{fragment}"
        return self.ANCHORS.get(path, "#top")

    def ref(self, slug: str) -> str:
        self.deps.add(rec(slug))
        href = self.hrefs.get(slug)
        if href is None:
            href = self.hrefs[slug] = single_anchor(self.dossier.kind(slug), slug)
        return href

    def quote(self, quote: Quote) -> str:
        return f"#q-{quote.id}"

    def root(self) -> str:
        return ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.base = "#single"
        self.hrefs = self.dossier.hrefs.setdefault(self.base, {})


def timeline_memo_key(base: str) -> tuple[str, str]:
    """Where the memo keeps the timeline charts drawn for the pages of a folder (Here.base)
    with their timeline_key and the titles they name."""
    return ("timeline-charts", base)


def timeline_key(tracks, events) -> bytes:
    """The fingerprint of what the timeline charts lay out: the site's tracks, and each
    event's slug, date and track, in order."""
    return fingerprint((repr(tracks), tuple([(e.slug, _when(e.when), e.track) for e in events])))


def timeline_layouts(tracks, events: list[Event]
                     ) -> list[tuple[str, charts_.TimelineLayout | None]]:
    """The timeline charts' layouts (``events`` in the timeline's order): every event,
    and a close-up of the busiest month when there is one (charts.busiest_month)."""
    layouts = [("All events", charts_.timeline_layout(
        tracks, events, "Every event on a time axis, by track"))]
    month = charts_.busiest_month(events)
    if month:
        first, last = charts_.month_domain(*month)
        inside = [e for e in events if e.when.start.year == month[0]
                  and e.when.start.month == month[1]]
        exact = [charts_.span(e)[1] for e in inside if e.when.start.precision == "day"]
        last = min(last, max(exact) + 1)
        name = f"{MONTHS[month[1] - 1]} {month[0]}"
        layouts.append((f"{name} in detail", charts_.timeline_layout(
            tracks, inside, f"Events of {name}, by track", (first, last))))
    return layouts


LAYOUTS_AHEAD_MIN = 2000
"""From this many events an edit forks a worker to lay out the timeline charts while the
parent links (0.075 s at 10,000 events); fewer are laid out faster than that pays."""


def charts_ahead(content: Content, memo: dict) -> tuple[bytes, Callable[[], tuple] | None]:
    """The timeline charts' timeline_key, and the task that lays them out from validated
    content, for render.Ahead's worker while the parent links, or None when ``memo`` has
    the timeline page's charts under that key. The task returns plain values: (the key,
    the tracks' repr, the events' slugs in the timeline's order, each chart's caption and
    plain layout, the charts drawn for the pages that show them). The key goes to the
    pages (take_layouts): both pages that show the charts took it again, 0.015-0.02 s
    each at 10,000 events, one of them on the parent's way.

    None is found here, in the parent: an edit that moves no event (its body, title or
    summary, a profile) gives no worker a task (and forks none for it). A worker forked
    only to find that out made the parent's link meet copy-on-write faults (33,000 more
    faults in a 10k body edit); finding it here takes 0.015 s."""
    events = timeline_order(content.events)
    key = timeline_key(content.site.tracks, events)
    hit = memo.get(timeline_memo_key(""))                # the timeline page's folder
    if hit is not None and hit[1][0] == key:
        return key, None
    return key, partial(_laid_out_plain, content.site.tracks, key,
                        tuple([e.slug for e in events]), tuple([e.title for e in events]),
                        tuple([_when(e.when) for e in events]),
                        tuple([e.track for e in events]))


class Marked(NamedTuple):
    """What the timeline charts read of an event, made again in the worker from the
    plain values ``charts_ahead``'s task is given (a worker standing by is sent them,
    pickled: render.Ahead.stand_by): 10,000 events' slugs, titles, dates (``_when``)
    and tracks take 0.007 s to gather and pickle, Marked tuples 0.02 s, and the events
    themselves much more."""

    slug: str
    title: str
    when: When
    track: str | None


def _laid_out_plain(tracks, key: bytes, slugs: tuple, titles: tuple, whens: tuple,
                    lanes: tuple) -> tuple:
    """``_laid_out`` of the events ``charts_ahead`` gave as plain values (``lanes``: their
    tracks)."""
    return _laid_out(tracks, tuple(map(Marked, slugs, titles, map(_when_of, whens), lanes)),
                     key)


def _when_of(plain: tuple) -> When:
    """The When that ``_when`` gave as plain values."""
    year, month, day, end, qualifier, display = plain
    return When(PartialDate(year, month, day), None if end is None else PartialDate(*end),
                qualifier, display)


def _laid_out(tracks, events: tuple[Event, ...], key: bytes) -> tuple:
    layouts = timeline_layouts(tracks, list(events))
    return (key, repr(tracks), tuple([event.slug for event in events]),
            [(caption, layout and layout.plain()) for caption, layout in layouts],
            {base: [str(charts_.draw_timeline(_Refs(href), layout)) for _, layout in layouts]
             for base, href in _EVENT_HREFS.items()})


def single_anchor(kind: str, slug: str) -> str:
    """Where a record is in the single-file edition (SingleHere.ref)."""
    return f"#{kind}-{slug}"


class _Refs:
    """What draw_timeline asks of a page (``ref``), for the charts drawn ahead."""

    def __init__(self, ref):
        self.ref = ref


_EVENT_HREFS = {
    "": lambda slug: relative(TIMELINE, page_url("event", slug)),   # Here.ref at the root
    "#single": lambda slug: single_anchor("event", slug),               # SingleHere.ref
}
"""How the pages that show the timeline charts (the timeline, the single-file edition:
Here.base) link to an event, for the charts drawn ahead (``charts_ahead``)."""


def take_layouts(dossier: Dossier, made: tuple | None, key: bytes | None = None) -> None:
    """Give ``dossier`` the layouts ``charts_ahead``'s task made, if they are its own (every
    page then only draws them), or else the timeline_key ``charts_ahead`` found for its
    content (``key``: the pages compare it with the memo's). Its events are the validated
    content's, sorted the same way (link.timeline_order): the same tracks and the same
    slugs in the same order say the layouts were made of them."""
    if key is not None:
        dossier.drawn.setdefault("timeline-key", key)
    if made is None or "timeline" in dossier.drawn:
        return
    key, tracks, slugs, layouts, svgs = made
    if tracks != repr(dossier.site.tracks) or \
            list(slugs) != [event.slug for event in dossier.events]:
        return
    entities = dossier.entities
    dossier.drawn["timeline"] = (key, [
        (caption, plain and charts_.TimelineLayout.from_plain(plain, entities))
        for caption, plain in layouts])
    dossier.drawn["timeline-svg"] = svgs


def portable(memo: dict, names: Names, text: str, inline: bool,
             targets: tuple[str, ...] | None = None) -> str:
    """A Markdown text as HTML for any page (markdown.render_portable), from ``memo``
    while the names and kinds of the records it links to (``targets``: its wikilinks'
    targets, found here when not given) are as they were; else rendered and kept there,
    by (inline, text), with those names and kinds as its signature."""
    if targets is None:
        targets = link_targets(text)
    entities = names.entities
    signature = tuple((t, names.name(t), names.kind(t)) if t in entities else (t,)
                      for t in targets)
    key = (inline, text)
    hit = memo.get(key)
    if hit is not None and hit[1] == signature:
        return hit[0]
    html = render_portable(text, inline, lambda target: (names.name(target), names.kind(target))
                           if target in entities else None)
    memo[key] = (html, signature)
    return html


def link_targets(text: str) -> tuple[str, ...]:
    """The targets of a text's [[wikilinks]], in order."""
    return tuple(w.target for w in find_wikilinks(text)) if "[[" in text else ()


_COMPILER_KEYWORDS = frozenset(("_block_vars", "_loop_vars"))
"""Keywords Jinja's compiled code adds to a call, which a macro never gets."""


def macro_arguments(macro: Macro, args: tuple, kwargs: dict) -> tuple | None:
    """What ``Macro.__call__`` would pass to a macro's function for ``args`` and
    ``kwargs`` (a parameter not given: ``missing``, which the function replaces by its
    default), for a macro that takes no ``caller``, no ``**kwargs`` and no ``*varargs``
    and is given only its parameters; None otherwise (Jinja's own call then takes it,
    and raises what it raises). Jinja binds every call in Python, one parameter at a
    time: 2.7 us of each of the 137,000 macro calls at 10,000 events. A Jinja whose
    macros are made otherwise (no such attributes) has every call its own way."""
    try:
        count = macro._argument_count
        if len(args) > count or macro.caller or macro.catch_kwargs or macro.catch_varargs \
                or not hasattr(macro, "_func"):
            return None
        if not kwargs:
            return args if len(args) == count else (*args, *[missing] * (count - len(args)))
        names = macro.arguments[len(args):]
    except AttributeError:
        return None
    for key in kwargs:
        if key not in names and key not in _COMPILER_KEYWORDS:
            return None
    return (*args, *[kwargs.get(name, missing) for name in names])


def macro_text(make, args: tuple) -> str:
    """``str(make(*args))``: a macro's text (through ``macro_arguments`` when it can), or
    what anything else called returns, as text."""
    if type(make) is Macro:
        arguments = macro_arguments(make, args, {})
        if arguments is not None:
            return make._func(*arguments)
    return str(make(*args))


def markdown_texts(content: Content) -> list[tuple[str, bool]]:
    """The Markdown texts the pages render, as (text, inline), record by record
    (``record_texts``), and the site's summary: what render.markdown_ahead renders before
    any page. A text left out here is rendered by the first page asking for it: the list
    saves time, its completeness is not needed for a right site."""
    return [*(text for records in (content.events, content.people, content.organizations,
                                   content.sources) for record in records
              for text in record_texts(record)),
            *([(content.site.summary, False)] if content.site.summary else [])]


def record_texts(record) -> list[tuple[str, bool]]:
    """One record's Markdown texts, as (text, inline): an event's summary, body, quotes'
    contexts and the versions and notes of its conflicts; a profile's summary and its
    first paragraph (which the who's who lists); a source's description."""
    if isinstance(record, Event):
        return [*([(record.summary, True)] if record.summary else []),
                *([(record.body, False)] if record.body else []),
                *((q.context, True) for q in record.quotes if q.context),
                *((text, True) for c in record.conflicts
                  for text in (*(v.text for v in c.versions), c.note) if text)]
    if isinstance(record, (Person, Organization)):
        return [(record.summary, False), (record.summary.split("\n\n")[0], True)] \
            if record.summary else []
    if isinstance(record, Source) and record.description:
        return [(record.description, False)]
    return []


def rendered(dossier: Dossier, memo: dict, text: str, inline: bool
             ) -> tuple[str, tuple[str, ...]]:
    """A Markdown text's portable HTML and the targets of its [[links]], for ``dossier``:
    kept in Dossier.rendered once found valid in ``memo`` or made (``portable``)."""
    key = (inline, text)
    found = dossier.rendered.get(key)
    if found is None:
        targets = link_targets(text)
        found = dossier.rendered[key] = (portable(memo, dossier, text, inline, targets),
                                         targets)
    return found


def render_edited(dossier: Dossier, memo: dict, slugs: Iterable[str]) -> None:
    """Find or make, before an update's pages are shared out between two processes, the
    Markdown of the records ``slugs`` (those an edit changed) and of the records whose
    texts link to them (their names may have changed): texts the pages to render again
    show, in both processes (the record's page and the single-file edition, the pages
    that list it). Each process made them itself, after importing the Markdown parser
    (0.02 s) and reading the memo's shards it needed, again in each."""
    entities, mentions, owners = dossier.entities, dossier.mentions_of, set()
    for slug in slugs:
        if slug in entities:
            owners.add(slug)
            owners.update(backlink.owner for backlink in mentions.get(slug, ()))
    texts = [text for owner in sorted(owners) if owner in entities
             for text in record_texts(entities[owner])]
    if "" in owners and dossier.site.summary:              # the home page's own text
        texts.append((dossier.site.summary, False))
    for text, inline in texts:
        rendered(dossier, memo, text, inline)


def _when(when) -> tuple:
    """A When as plain values (a signature's fingerprint takes those fastest)."""
    start, end = when.start, when.end
    return (start.year, start.month, start.day,
            None if end is None else (end.year, end.month, end.day), when.qualifier,
            when.display)


def _ident(value):
    """What identifies a fragment's argument: a record's slug, a quote's id, or the value."""
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, Quote):
        return ("quote", value.id)
    slug = getattr(value, "slug", None)
    if isinstance(slug, str):
        return ("rec", slug)
    if isinstance(value, tuple):
        return tuple(_ident(v) for v in value)
    raise TypeError(f"here.cached() takes records, quotes and plain values, not "
                    f"{type(value).__name__}")


def _arg_slugs(args) -> list[str]:
    """The records a fragment's arguments stand for (a quote stands for its event)."""
    slugs = []
    for value in args:
        if isinstance(value, tuple):
            slugs += _arg_slugs(value)
        elif isinstance(value, Quote):
            slugs.append(value.event)
        elif isinstance(getattr(value, "slug", None), str):
            slugs.append(value.slug)
    return slugs


def plan(dossier: Dossier, stylesheet: str = "") -> list[PageSpec]:
    """Every page of the site, in a stable order."""
    return [*fixed_pages(dossier, stylesheet), *record_pages(dossier)]


def fixed_pages(dossier: Dossier, stylesheet: str = "") -> list[PageSpec]:
    """The pages every dossier has (the only ones that are streamed), in plan's order."""
    return [home(dossier), timeline(dossier), people_index(dossier), quotes(dossier),
            sources_index(dossier), discrepancies(dossier), search_page(dossier),
            not_found(dossier), single_file(dossier, stylesheet)]


def record_pages(dossier: Dossier) -> list[PageSpec]:
    """A page per event, person, organization and source, in plan's order."""
    pages = [event_page(dossier, index) for index in range(len(dossier.events))]
    pages += [person_page(p) for p in dossier.people]
    pages += [organization_page(o) for o in dossier.organizations]
    pages += [source_page(s) for s in dossier.sources]
    return pages


def record_urls(dossier: Dossier) -> list[Url]:
    """The URLs of ``record_pages``, in its order, without planning the pages."""
    return [page_url(kind, record.slug) for kind, records in (
        ("event", dossier.events), ("person", dossier.people),
        ("organization", dossier.organizations), ("source", dossier.sources))
        for record in records]


def record_page(dossier: Dossier, url: Url) -> PageSpec:
    """The page ``record_pages`` makes at ``url``, made alone (KeyError if none)."""
    slug = url.rpartition("/")[2].removesuffix(".html")
    record = dossier.entities[slug]
    if isinstance(record, Event):
        spec = event_page(dossier, dossier.event_index[slug])
    elif isinstance(record, Person):
        spec = person_page(record)
    elif isinstance(record, Organization):
        spec = organization_page(record)
    else:
        spec = source_page(record)
    if spec.url != url:
        raise KeyError(url)
    return spec


def person_page(p: Person) -> PageSpec:
    return PageSpec(page_url("person", p.slug), "person.html", {"person": p}, p.name,
                    p.summary, own(p.slug, p.summary), summary=True)


def organization_page(o: Organization) -> PageSpec:
    return PageSpec(page_url("organization", o.slug), "organization.html",
                    {"organization": o}, o.name, o.summary, own(o.slug, o.summary),
                    summary=True)


def source_page(s: Source) -> PageSpec:
    return PageSpec(page_url("source", s.slug), "source.html", {"source": s}, s.name,
                    f"{s.name}: what this dossier cites from it.",
                    own(s.slug, s.description or ""))


def own(slug: str, summary: str) -> frozenset[str]:
    """A record page's known dependencies: the record, and what its summary links to."""
    return frozenset({rec(slug)} | {rec(w.target) for w in find_wikilinks(summary)})


def home(dossier: Dossier) -> PageSpec:
    site = dossier.site
    key = [r.slug for r in site.key_people if r.slug in dossier.entities]
    if not key:
        counts = Counter({slug: len(events) for slug, events in dossier.events_of.items()
                          if isinstance(dossier.entities.get(slug), Person)})
        key = [slug for slug, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]]
    latest = list(reversed(dossier.events[-LATEST:]))
    return PageSpec(INDEX, "index.html", {"latest": latest, "key_people": key}, site.title,
                    plain(dossier, site.summary), frozenset({"all:event", "all:person"}))


def timeline(dossier: Dossier) -> PageSpec:
    years = []
    for year, in_year in groupby(dossier.events, key=lambda e: e.when.start.year):
        months = [(month, list(events)) for month, events in
                  groupby(in_year, key=lambda e: month_heading(e.when.start))]
        years.append((year, months))
    return PageSpec(TIMELINE, "timeline.html",
                    {"years": years, "filters": Later(lambda: _filters(dossier))}, "Timeline",
                    f"Every event of {dossier.site.title}, in date order.",
                    frozenset({"all:event", "all:person", "all:organization"}),
                    streamed=True)


def _filters(dossier: Dossier) -> dict:
    """The timeline's filter menus: who takes part in events, and their tags."""
    involved = {p.ref.slug for e in dossier.events for p in e.participants}
    by_name = lambda slugs: sorted(((s, dossier.name(s)) for s in slugs),  # noqa: E731
                                   key=lambda pair: pair[1].casefold())
    return {"people": by_name(s for s in involved if dossier.kind(s) == "person"),
            "organizations": by_name(s for s in involved if dossier.kind(s) == "organization"),
            "tags": sorted({t for e in dossier.events for t in e.tags}, key=str.casefold)}


class Later:
    """A page's context value made when the page first reads it (``make()``, a mapping
    read by key or attribute), not when the site is planned: an edit plans every page and
    renders a few. Its identity is not part of the page's signature (incremental), so it
    may only hold what the page's dependency keys cover."""

    def __init__(self, make):
        self._make, self._made = make, None

    def _value(self) -> dict:
        if self._made is None:
            self._made = self._make()
        return self._made

    def __getitem__(self, key):
        return self._value()[key]

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._value()[name]
        except KeyError:
            raise AttributeError(name) from None


def event_page(dossier: Dossier, index: int) -> PageSpec:
    event = dossier.events[index]
    previous = dossier.events[index - 1] if index > 0 else None
    following = dossier.events[index + 1] if index + 1 < len(dossier.events) else None
    neighbours = {rec(e.slug) for e in (previous, following) if e is not None}
    return PageSpec(page_url("event", event.slug), "event.html",
                    {"event": event, "previous": previous, "next": following},
                    event.title, event.summary,
                    own(event.slug, event.summary) | neighbours, summary=True)


def people_index(dossier: Dossier) -> PageSpec:
    return PageSpec(PEOPLE, "people.html", {}, "Who’s who",
                    "The people and organizations in this dossier.", streamed=True)


def quotes(dossier: Dossier) -> PageSpec:
    speakers = sorted(dossier.quotes_by, key=lambda s: dossier.name(s).casefold())
    return PageSpec(QUOTES, "quotes.html",
                    {"by_speaker": [(s, dossier.quotes_by[s]) for s in speakers]},
                    "Quotes", "Every quotation in the dossier, verbatim, with its source.",
                    frozenset({"all:event"} | {rec(s) for s in speakers}), streamed=True)


def sources_index(dossier: Dossier) -> PageSpec:
    return PageSpec(SOURCES, "sources.html", {}, "Sources",
                    "Every source this dossier relies on, and what cites it.", streamed=True)


def discrepancies(dossier: Dossier) -> PageSpec:
    return PageSpec(DISCREPANCIES, "discrepancies.html", {}, "Discrepancies",
                    "Every point where the sources disagree or are uncertain.", streamed=True)


def single_file(dossier: Dossier, stylesheet: str) -> PageSpec:
    """dossier.html: the whole dossier in one file, for e-mail and archiving."""
    speakers = sorted(dossier.quotes_by, key=lambda s: dossier.name(s).casefold())
    return PageSpec(SINGLE, "single.html",
                    {"css": Markup(stylesheet.replace("</", "<\\/")),
                     "by_speaker": [(s, dossier.quotes_by[s]) for s in speakers]},
                    dossier.site.title, plain(dossier, dossier.site.summary),
                    frozenset({"all:event", "all:person", "all:organization", "all:source"}),
                    single=True, streamed=True)


def search_page(dossier: Dossier) -> PageSpec:
    return PageSpec(SEARCH, "search.html", {}, "Search",
                    "Search every person, organization, event, quote and source.")


def not_found(dossier: Dossier) -> PageSpec:
    return PageSpec(NOT_FOUND, "404.html", {}, "Page not found",
                    "This page does not exist.")


def role_label(record) -> str:
    """'Former Prime Minister of Peru' or 'President of Mexico': the latest role, or ''."""
    positions = getattr(record, "positions", ())
    if not positions:
        return ""
    latest = positions[-1]
    return f"Former {latest.title}" if latest.end is not None else latest.title


def plain(dossier: Dossier, markdown_text: str) -> str:
    """A one-line plain-text version of a Markdown summary, for meta descriptions.

    Kept by text in the dossier (Dossier.plains): a summary is made plain for its page's
    description, its JSON-LD, the search index and three data files. A tracked dossier
    records the same reads either way: each link without a label of its own."""
    memo = dossier.plains
    found = memo.get(markdown_text)
    if found is None:
        found = memo[markdown_text] = _plain_text(dossier, markdown_text)
    elif found[1]:
        entities = dossier.entities
        for slug in found[1]:
            slug in entities                      # noqa: B015 - recorded as a read
    return found[0]


def plain_words(dossier: Dossier, markdown_text: str) -> str:
    """An event's body as text for the search index's words: ``plain``'s text, with the
    text's own whitespace (the index splits it into words: putting 14 MB of bodies on one
    line took 0.1 s at 10,000 events), made once and not kept."""
    return _plain_text(dossier, markdown_text, False)[0]


def _plain_text(dossier: Dossier, markdown_text: str, spaced: bool = True
                ) -> tuple[str, tuple[str, ...]]:
    """(``plain``'s text, on one line with single spaces unless not ``spaced``, the slugs
    of the links without a label, looked up)."""
    looked: list[str] = []
    if "[[" not in markdown_text:
        text = markdown_text
    else:
        # read once: a tracked dossier makes a new view of its entities at each read
        entities, name = dossier.entities, dossier.name

        def label(match) -> str:
            if match.group(2):
                return match.group(2)
            slug = match.group(1).strip()
            looked.append(slug)
            return name(slug) if slug in entities else slug
        text = WIKILINK_RE.sub(label, markdown_text)
    text = text.replace("**", "").replace("`", "")
    return " ".join(text.split()) if spaced else text, tuple(looked)
