"""Serve's preview: the pages of events whose Markdown body alone changed, written first.

An author mostly edits prose. When every file a save touched is an event whose front
matter is unchanged and whose body links to the same records as before, the linked
dossier differs from the last build's in those bodies only: ``with_bodies`` patches them
in, the events' own pages are rendered and written at once, and the browser reloads.
The rebuild that follows (serve runs it next, in the background) brings every other
file that shows a body (the single-file edition, the data files, the search index) up
to date, and finds the previewed pages already written.

A save made while that rebuild runs is previewed the same way against the dossier with
the bodies it is making (``preview_ahead``): only the pages are written, since the marker
belongs to the running build, and ``ahead`` tells that build's state about them.

The pages written here are the bytes the full build makes: the patched dossier equals
the one ``link`` makes from the same content (a test compares them). Anything else, or
any doubt, means no preview and the ordinary rebuild.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from .cache import Cache
from .errors import ContentProblem
from .incremental import PageMemo, State, body_differs, digest
from .link import Dossier, Event
from .load import decode, load_templates, parse_record, read_bytes
from .pages import event_page
from .project import Project
from .render import make_environment, render_page
from .urls import Slug, Url
from .validate import is_draft, validate_event
from .wikilinks import find_wikilinks, forbidden_targets
from .write import update_site, write_pages


@dataclass(frozen=True, slots=True)
class Preview:
    """What a preview wrote, and the cache that describes the folder now."""

    urls: tuple[Url, ...]
    """The pages written."""
    bodies: dict[Slug, str]
    """The new bodies, by event."""
    cache: Cache
    """The previous build's cache, with the written pages' digests and the new marker:
    the rebuild that follows starts from it."""


def body_edit(old: Event, new: Event) -> bool:
    """True when ``new`` differs from ``old`` only in its body, and that body links to
    the same records (so every index, backlink and problem ``link`` finds is unchanged)."""
    return (body_differs(old, new) and _targets(new.body) == _targets(old.body)
            and not forbidden_targets(new.body))


def _targets(text: str) -> set[str]:
    return {w.target for w in find_wikilinks(text)}


def with_bodies(dossier: Dossier, bodies: dict[Slug, str]) -> Dossier:
    """The dossier with these events' bodies replaced, in every index that holds them."""
    swapped = {}
    for slug, body in bodies.items():
        old = dossier.entities[slug]
        swapped[id(old)] = replace(old, body=body)
    swap = lambda event: swapped.get(id(event), event)  # noqa: E731
    holders = {ref.slug for event in swapped.values()
               for ref in (*(p.ref for p in event.participants), *event.related)}
    holders |= {event.slug for event in swapped.values()}
    events_of = dict(dossier.events_of)
    related_of = dict(dossier.related_of)
    for slug in holders:
        if slug in events_of:
            events_of[slug] = tuple((swap(e), role) for e, role in events_of[slug])
        if slug in related_of:
            related_of[slug] = tuple(swap(e) for e in related_of[slug])
    return replace(dossier, events=tuple(swap(e) for e in dossier.events),
                   entities={**dossier.entities, **{e.slug: e for e in swapped.values()}},
                   events_of=events_of, related_of=related_of,
                   conflicts=tuple((swap(e), c) for e, c in dossier.conflicts))


def edited_bodies(project: Project, dossier: Dossier, paths: set[str]) -> dict[Slug, str] | None:
    """{slug: new body} when every path is an event file whose body alone changed, else
    None. Reads the files (the loader's way: size limit, UTF-8, BOM and line ends)."""
    events = project.content / "events"
    bodies: dict[Slug, str] = {}
    for path in paths:
        name = os.path.basename(path)
        if name.startswith(".") or name.endswith("~"):
            continue                                   # the loader ignores these too
        slug = Slug(name[:-3])
        old = dossier.entities.get(slug)
        if (os.path.dirname(path) != str(events) or not name.endswith(".md")
                or not isinstance(old, Event) or os.path.islink(path)):
            return None
        new = _read_event(path, old, dossier.site.language)
        if new is None or not body_edit(old, new):
            return None
        bodies[slug] = new.body
    return bodies or None


def _read_event(path: str, old: Event, language: str) -> Event | None:
    """The event in this file, or None if it does not load and validate cleanly."""
    try:
        raw = read_bytes(path, old.path, os.stat(path).st_size)
    except OSError:
        return None
    text = raw if isinstance(raw, ContentProblem) else decode(raw, old.path)
    record = text if isinstance(text, ContentProblem) else \
        parse_record("event", old.path, old.slug, text)
    if isinstance(record, ContentProblem):
        return None
    found: list[ContentProblem] = []
    if is_draft(record, found):
        return None
    event = validate_event(record, found, language)
    return None if found else event


def preview(project: Project, cache: Cache, dossier: Dossier, paths: set[str]) -> Preview | None:
    """Write the pages of events whose body alone changed; None when this save is not
    such an edit (the ordinary rebuild does everything)."""
    state = cache.state
    found = None if state is None else _pages(project, state, dossier, {}, paths,
                                              cache.markdown)
    if found is None:
        return None
    bodies, rendered = found
    memos = {url: memo for url, (_, memo) in rendered.items()}
    build_id = digest(f"{cache.build_id} preview {sorted((u, m.digest) for u, m in memos.items())}"
                      .encode())
    update_site(project.out, {url: html for url, (html, _) in rendered.items()}, set(), build_id)
    return Preview(tuple(sorted(rendered)), bodies, replace(
        cache, build_id=build_id, state=replace(state, pages={**state.pages, **memos})))


def preview_ahead(project: Project, state: State, dossier: Dossier, pending: dict[Slug, str],
                  paths: set[str]) -> tuple[dict[Slug, str], dict[Url, PageMemo]] | None:
    """While the rebuild after a preview runs: write the pages of events whose body alone
    changed since ``dossier`` with the ``pending`` bodies (those that rebuild is making),
    and return the new bodies and the written pages' memos (``ahead``: for the state once
    that rebuild is done). The marker is left to that rebuild, which owns the folder."""
    found = _pages(project, state, dossier, pending, paths, {})
    if found is None:
        return None
    bodies, rendered = found
    write_pages(project.out, {url: html for url, (html, _) in rendered.items()})
    return bodies, {url: memo for url, (_, memo) in rendered.items()}


def ahead(state: State, memos: dict[Url, PageMemo], slugs) -> State:
    """The state of a build, once pages were written after it started: their memos are
    the written bytes', and their records' inputs unknown, so that the next build renders
    again everything that shows those records (whatever the content is by then)."""
    return replace(state, pages={**state.pages, **memos},
                   inputs={**state.inputs, **{f"rec:{slug}": "" for slug in slugs}})


def _pages(project: Project, state: State, dossier: Dossier, pending: dict[Slug, str],
           paths: set[str], memo: dict):
    """(new bodies, {url: (bytes, memo)} of their events' pages) when the files at
    ``paths`` change only bodies of ``dossier`` with the ``pending`` ones; else None."""
    bodies = edited_bodies(project, with_bodies(dossier, pending) if pending else dossier,
                           paths)
    if bodies is None:
        return None
    dossier = with_bodies(dossier, {**pending, **bodies})
    env = make_environment(load_templates(project.templates))
    rendered = {}
    for slug in sorted(bodies):
        spec = event_page(dossier, dossier.event_index[slug])
        html, deps = render_page(env, dossier, spec, memo)
        rendered[spec.url] = (html, PageMemo(deps, state.pages[spec.url].signature, digest(html)))
    return bodies, rendered
