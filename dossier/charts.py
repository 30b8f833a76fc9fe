"""Charts drawn at build time as inline SVG: readable with no JavaScript, no request.

``timeline_layout`` places events on a time axis in lanes (``draw_timeline`` draws that
layout for a page), honest about precision: a day is a dot, a month or a year a bar over
that period, an uncertain date ('circa', 'between', 'before', 'after') a dashed outline
over the window it may fall in.
``roles_svg`` draws the periods a person held each role; ``network_svg`` who appears
with whom. Every mark links to its page and carries an accessible name.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from html import escape

from markupsafe import Markup

from .dates import MONTHS, PartialDate
from .link import Dossier
from .model import Event, Person, Position
from .words import counted

WIDTH, LABEL, LANE, TOP = 960, 170, 30, 28
ROW, GAP = 18, 10


def _day(d: PartialDate) -> int:
    return date(d.year, d.month or 1, d.day or 1).toordinal()


def span(event: Event) -> tuple[int, int]:
    """First and last day an event may cover, given its precision and qualifier."""
    when = event.when
    start, end = when.start.first_day(), (when.end or when.start).last_day()
    return _day(start), _day(end)


class _Scale:
    def __init__(self, first: int, last: int, left: float, right: float):
        self.first, self.last, self.left, self.right = first, max(last, first + 1), left, right
        width, days = right - left, self.last - first
        self.at = lambda day: round(left + (day - first) * width / days, 1)
        """The x of a day, by a plain function rather than a method or ``__call__``: a
        chart of 10,000 events places 40,000 points, and calling an instance cost 40 %
        more (418 against 296 ns a point, timeit)."""


def _tick(scale: _Scale, day: int, label: str, height: float) -> str:
    x = scale.at(day)
    return (f'<line class="tick" x1="{x}" x2="{x}" y1="{TOP - 6}" y2="{height}"/>'
            f'<text class="tick-label" x="{x + 3}" y="{TOP - 10}">{label}</text>')


def _ticks(scale: _Scale, height: float) -> list[str]:
    """Day ticks for a range of weeks, month ticks up to 18 months, year ticks beyond."""
    days = scale.last - scale.first
    if days <= 62:
        step = 1 if days <= 16 else 2 if days <= 31 else 7
        out, first = [], True
        for day in range(scale.first, scale.last + 1):
            d = date.fromordinal(day)
            if (d.day - 1) % step and d.day != 1:
                continue
            label = f"{d.day} {MONTHS[d.month - 1][:3]}" if first or d.day == 1 else str(d.day)
            out.append(_tick(scale, day, label, height))
            first = False
        return out
    first, last = date.fromordinal(scale.first), date.fromordinal(scale.last)
    monthly = (last.year - first.year) * 12 + last.month - first.month <= 18
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        tick = date(year, month, 1).toordinal()
        if tick >= scale.first and (month == 1 or monthly):
            label = (f"{MONTHS[month - 1][:3]} {year}" if month == 1 else MONTHS[month - 1][:3]) \
                if monthly else str(year)
            out.append(_tick(scale, tick, label, height))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _named(event: Event) -> str:
    """What names an event's mark: its title and date (its aria-label and tooltip)."""
    return f"{event.title} ({event.when.human()})"


def _label(event: Event) -> str:
    """``_named``, escaped for an attribute."""
    return escape(_named(event), quote=True)


def _head(href: str, slug: str, label: str) -> str:
    """The start of an event's mark, up to its shape: its link and its name."""
    return f'<a href="{href}" aria-label="{label}" data-event="{slug}"><title>{label}</title>'


_HEAD = re.compile('<a href="([^"]*)" aria-label="([^"]*)" data-event="([^"]*)"><title>[^<]*</title>')


def retitled(svg: str, events: dict[str, Event]) -> str:
    """A chart draw_timeline drew, as it would draw it now that some of its events have
    new titles (and nothing else new: the same dates, tracks and order): the marks of
    ``events`` (those retitled, by slug) named afresh. A title edit at 10,000 events then
    redraws no chart (0.13-0.16 s each)."""
    def head(match: re.Match) -> str:
        href, label, slug = match.groups()
        event = events.get(slug)
        if event is None:
            return match.group()
        now = _label(event)
        return match.group() if now == label else _head(href, slug, now)
    return _HEAD.sub(head, svg) if events else svg


def _shape(when, scale: _Scale, y: float, days: tuple[int, int]) -> str:
    """An event's mark without its link and name: a dot, a bar or a dashed outline."""
    first, last = days
    uncertain = when.qualifier is not None
    x1 = scale.at(first)
    if when.qualifier == "before":
        return (f'<line class="mark uncertain" x1="{scale.left}" x2="{x1}" y1="{y}" y2="{y}"/>'
                f'<circle class="mark" cx="{x1}" cy="{y}" r="4"/>')
    if when.qualifier == "after":
        return (f'<circle class="mark" cx="{x1}" cy="{y}" r="4"/>'
                f'<line class="mark uncertain" x1="{x1}" x2="{scale.right}" y1="{y}" y2="{y}"/>')
    if when.start.precision == "day" and when.end is None:
        css = "mark uncertain" if uncertain else "mark"
        return f'<circle class="{css}" cx="{x1}" cy="{y}" r="5"/>'
    width = max(scale.at(last + 1) - x1, 4)
    css = "mark span uncertain" if uncertain else "mark span"
    return f'<rect class="{css}" x="{x1}" y="{y - 6}" width="{round(width, 1)}" height="12" rx="2"/>'


def _spans(events: list[Event]) -> dict[str, tuple[int, int]]:
    """Each event's ``span``, by slug; a single day's straight from its ordinal (the
    spans of 10,000 events: 17 -> 7 ms)."""
    spans = {}
    for event in events:
        when = event.when
        start = when.start
        if when.end is None and start.day:
            day = date(start.year, start.month, start.day).toordinal()
            spans[event.slug] = (day, day)
        else:
            spans[event.slug] = span(event)
    return spans


@dataclass(frozen=True, slots=True)
class TimelineLayout:
    """What a timeline chart is, whichever page shows it: its size, axis and lanes, and
    each event's mark without its link and name (``draw_timeline`` adds those). Made
    once per dossier for every page that shows the chart (pages.Here.timeline_charts)."""

    caption: str
    height: int
    frame: str
    """The axis's ticks and the lanes, as SVG."""
    marks: tuple[tuple[Event, str], ...]
    """Each event, in the order given, with its mark's shape (``_shape``)."""

    def plain(self) -> tuple:
        """The layout as plain values, its events by slug (to send to another process)."""
        return (self.caption, self.height, self.frame,
                tuple([event.slug for event, _ in self.marks]),
                tuple([shape for _, shape in self.marks]))

    @classmethod
    def from_plain(cls, plain: tuple, entities: dict) -> "TimelineLayout":
        """A layout from ``plain``, its events taken from ``entities`` by slug."""
        caption, height, frame, slugs, shapes = plain
        return cls(caption, height, frame,
                   tuple(zip([entities[slug] for slug in slugs], shapes)))


def timeline_layout(tracks, events: list[Event], caption: str,
                    domain: tuple[int, int] | None = None) -> TimelineLayout | None:
    """Events on a time axis, one lane per track (``tracks``: the site's; None: no
    event)."""
    if not events:
        return None
    tracks = [(t.slug, t.name) for t in tracks]
    used = {e.track for e in events}
    lanes = [(slug, name) for slug, name in tracks if slug in used]
    if not used <= {slug for slug, _ in tracks}:
        lanes.append((None, "Other"))
    spans = _spans(events)
    first = domain[0] if domain else min(days[0] for days in spans.values())
    last = domain[1] if domain else max(days[1] for days in spans.values())
    pad = max(1, (last - first) // 60)
    scale = _Scale(first - pad, last + pad, LABEL, WIDTH - 16)
    lane_of = {slug: i for i, (slug, _) in enumerate(lanes)}
    rows = _pack(events, spans, scale, lambda e: lane_of.get(e.track, lane_of.get(None, 0)))
    heights = [1] * len(lanes)                    # rows in each lane
    for lane, row in rows.values():
        if row >= heights[lane]:
            heights[lane] = row + 1
    tops = [TOP + sum(ROW * h + GAP for h in heights[:i]) for i in range(len(lanes))]
    height = tops[-1] + ROW * heights[-1] + GAP
    parts = _ticks(scale, height)
    for i, (_, name) in enumerate(lanes):
        y = tops[i] + ROW * heights[i] / 2 + 2
        parts.append(f'<line class="lane" x1="{LABEL}" x2="{WIDTH - 16}" y1="{y}" y2="{y}"/>'
                     f'<text class="lane-label" x="8" y="{y + 4}">{escape(name)}</text>')
    marks = []
    for event in events:
        lane, row = rows[event.slug]
        marks.append((event, _shape(event.when, scale, tops[lane] + ROW * row + ROW / 2 + 2,
                                    spans[event.slug])))
    return TimelineLayout(escape(caption), height, "".join(parts), tuple(marks))


def draw_timeline(here, layout: TimelineLayout | None) -> Markup:
    """A timeline chart as SVG for one page: its layout, each mark linking to its event's
    page and named by its title and date (``_head``, ``_named``)."""
    if layout is None:
        return Markup("")
    events = [event for event, _ in layout.marks]
    hrefs = _escaped([here.ref(event.slug) for event in events])
    labels = _escaped([_named(event) for event in events])
    marks = [f"{_head(href, event.slug, label)}{shape}</a>"
             for (event, shape), href, label in zip(layout.marks, hrefs, labels)]
    return Markup(
        f'<svg class="chart timeline-chart" viewBox="0 0 {WIDTH} {layout.height}" '
        f'width="{WIDTH}" height="{layout.height}" role="group" '
        f'aria-label="{layout.caption}">{layout.frame}{"".join(marks)}</svg>')


def _escaped(texts: list[str]) -> list[str]:
    """``escape(text, quote=True)`` of each text, escaped together in one pass (10,000
    marks' names and links took 5,000 calls each); each apart if one holds a NUL."""
    together = escape("\0".join(texts), quote=True).split("\0")
    return together if len(together) == len(texts) else [escape(t, quote=True) for t in texts]


def _pack(events: list[Event], spans: dict[str, tuple[int, int]], scale: _Scale,
          lane_of) -> dict[str, tuple[int, int]]:
    """Lane and sub-row of each event, so that marks in one lane never overlap
    (``spans``: each event's ``span``, by slug): each goes in the lowest row of its lane
    whose last mark ends more than 3 px before it starts, else in a new row.

    Events come in the order of their first day, so where marks start (x1) only grows,
    and a row free for one event is free for every later one: each lane keeps its rows
    still busy in a heap by where they end, and moves them to a heap of free rows (by
    number) once an event starts past them. (Scanning every row for each event took
    0.06 s of a 10,000-event chart, whose lanes run to 50 rows.) A mark that starts at
    the left edge ('before') finds no row free there, and takes a new one."""
    busy: dict[int, list[tuple[float, int]]] = defaultdict(list)
    free: dict[int, list[int]] = defaultdict(list)
    rows_in: dict[int, int] = defaultdict(int)
    placed = {}
    at = scale.at
    push, pop = heapq.heappush, heapq.heappop
    for event in sorted(events, key=lambda e: (spans[e.slug][0], e.slug)):
        first, last = spans[event.slug]
        qualifier = event.when.qualifier
        lane = lane_of(event)
        if qualifier == "before":                 # starts at the left edge: a new row
            row = rows_in[lane]
            rows_in[lane] = row + 1
            push(busy[lane], (at(first) + 6, row))
            placed[event.slug] = (lane, row)
            continue
        if qualifier == "after":
            x1, x2 = at(first) - 6, scale.right
        else:
            start = at(first)
            x1, x2 = start - 6, max(at(last + 1), start + 6)
        ends, unused = busy[lane], free[lane]
        while ends and ends[0][0] + 3 < x1:      # rows this mark starts past: free
            push(unused, pop(ends)[1])
        if unused:
            row = pop(unused)                     # the lowest free row
        else:
            row = rows_in[lane]
            rows_in[lane] = row + 1
        push(ends, (x2, row))
        placed[event.slug] = (lane, row)
    return placed


def busiest_month(events: list[Event]) -> tuple[int, int] | None:
    """The month holding the most day-precise events, if it holds a third of all events."""
    counts = Counter((e.when.start.year, e.when.start.month) for e in events
                     if e.when.start.month)
    if not counts:
        return None
    (year, month), count = counts.most_common(1)[0]
    return (year, month) if count * 3 >= len(events) and count >= 4 else None


def month_domain(year: int, month: int) -> tuple[int, int]:
    start = PartialDate(year, month)
    return _day(start.first_day()), _day(start.last_day())


def _position_span(position: Position, as_of: PartialDate | None) -> tuple[int | None, int | None]:
    start = position.start.first_day() if position.start else None
    if position.end:
        end = position.end.last_day()
    elif position.start and as_of:
        end = as_of.last_day()
    else:
        end = None
    if start is None and end is None and position.in_office:
        start, end = position.in_office.first_day(), position.in_office.last_day()
    return (_day(start) if start else None, _day(end) if end else None)


def roles_svg(here, person: Person) -> Markup:
    """Each role of a person as a bar over the period it was held."""
    spans = [(_position_span(p, person.as_of), p) for p in person.positions]
    known = [d for (s, e), _ in spans for d in (s, e) if d is not None]
    if not known:
        return Markup("")
    first, last = min(known), max(known)
    pad = max(30, (last - first) // 20)
    scale = _Scale(first - pad, last + pad, LABEL + 60, WIDTH - 16)
    row = 34
    height = TOP + row * len(spans) + 8
    parts = _ticks(scale, height)
    for i, ((start, end), position) in enumerate(spans):
        y = TOP + row * i + row / 2
        name = position.title + (" (interim)" if position.acting else "")
        period = here.period_text(position)
        label = escape(f"{name}: {period}", quote=True)
        short = name if len(name) <= 30 else name[:29] + "…"
        parts.append(f'<text class="lane-label" x="8" y="{y + 4}">{escape(short)}</text>')
        if start is None and end is None:
            parts.append(f'<text class="note" x="{scale.left}" y="{y + 4}">dates not stated</text>')
            continue
        x1 = scale.at(start) if start is not None else scale.left
        x2 = scale.at(end + 1) if end is not None else scale.right
        css = "mark span" + (" uncertain" if start is None or (end is None) else "")
        parts.append(f'<rect class="{css}" x="{x1}" y="{y - 8}" width="{max(round(x2 - x1, 1), 4)}" '
                     f'height="16" rx="2" aria-label="{label}" role="img"><title>{label}</title></rect>')
    caption = escape(f"Roles of {person.name} over time")
    return Markup(f'<svg class="chart roles-chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
                  f'height="{height}" role="group" aria-label="{caption}">{"".join(parts)}</svg>')


NETWORK_NODES = 40
"""More names than this on one circle are unreadable: the map shows the best connected."""


def network_pairs(dossier: Dossier, limit: int = NETWORK_NODES
                  ) -> tuple[dict[tuple[str, str], list[Event]], int]:
    """(the pairs of people and organizations that share an event, among the ``limit``
    with the most shared events, each with those events in the timeline's order, sorted;
    how many pairs share an event in all).

    A name's weight, the events it shares counted once per partner, is the sum over its
    events of their other participants; the pairs are counted through each name's set of
    partners. So only the pairs among the names kept are made: at 10,000 events, 60,000
    pairs made, sorted and weighed took 0.23 s, and the map showed seven of them."""
    weight: Counter = Counter()
    partners: dict[str, set[str]] = defaultdict(set)
    shared = []
    for event in dossier.events:
        slugs = sorted({p.ref.slug for p in event.participants})
        if len(slugs) < 2:
            continue
        shared.append((event, slugs))
        others = len(slugs) - 1
        for slug in slugs:
            weight[slug] += others
            partners[slug].update(slugs)
    count = (sum(map(len, partners.values())) - len(partners)) // 2   # (each its own partner)
    keep = None if len(weight) <= limit else {
        slug for slug, _ in sorted(weight.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]}
    pairs: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for event, slugs in shared:
        if keep is not None:
            slugs = [slug for slug in slugs if slug in keep]
        for i, a in enumerate(slugs):
            for b in slugs[i + 1:]:
                pairs[(a, b)].append(event)
    return dict(sorted(pairs.items())), count


def network_svg(here, dossier: Dossier, pairs: dict[tuple[str, str], list[Event]]) -> Markup:
    """People and organizations on a circle, joined where they share events."""
    nodes = sorted({s for pair in pairs for s in pair},
                   key=lambda s: (here.kind(s) != "person", getattr(dossier.entities[s], "country", "") or "",
                                  here.name(s)))
    if len(nodes) < 2:
        return Markup("")
    width, height, radius = 1100, 680, 280
    cx, cy = width / 2, height / 2
    where = {}
    for i, slug in enumerate(nodes):
        angle = 2 * math.pi * i / len(nodes) - math.pi / 2
        where[slug] = (round(cx + radius * math.cos(angle), 1),
                       round(cy + radius * math.sin(angle), 1), angle)
    parts = []
    for (a, b), events in pairs.items():
        (x1, y1, _), (x2, y2, _) = where[a], where[b]
        label = escape(f"{here.name(a)} and {here.name(b)}: "
                       f"{counted(len(events), 'shared event')}", quote=True)
        parts.append(f'<line class="edge" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" '
                     f'stroke-width="{min(1 + len(events), 7)}"><title>{label}</title></line>')
    for slug in nodes:
        x, y, angle = where[slug]
        kind = here.kind(slug)
        right = math.cos(angle) >= 0
        lx = round(x + (12 if right else -12), 1)
        ly = round(y + 4 + 10 * math.sin(angle), 1)
        anchor = "start" if right else "end"
        name = escape(here.name(slug))
        parts.append(f'<a href="{escape(here.ref(slug), quote=True)}" aria-label="{name}">'
                     f'<circle class="node node-{kind}" cx="{x}" cy="{y}" r="7"/>'
                     f'<text class="node-label" x="{lx}" y="{ly}" text-anchor="{anchor}">{name}</text></a>')
    return Markup(f'<svg class="chart network-chart" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" role="group" '
                  f'aria-label="Who appears with whom">{"".join(parts)}</svg>')
