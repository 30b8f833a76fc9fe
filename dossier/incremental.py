"""Decide which pages a rebuild must re-render, from what the previous build saw.

Pure. A ``State`` remembers, for the last good build, each input's digest, the index
signatures, and for each page the dependency keys it read (deps.py), its context
signature and the digest of its bytes. ``stale_pages`` compares a new build's inputs
with that state and returns the pages whose dependencies changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, is_dataclass, replace

from .deps import body, fingerprint
from .link import KIND_OF, Dossier, Event
from .model import Quote, Ref
from .pages import Later, PageSpec
from .urls import Url

EVERYTHING = None
"""changed_keys() returns this when every page must be re-rendered."""


def digest(data: bytes) -> str:
    """A content hash (SHA-256, hex): on CPUs with SHA instructions (as this project's
    2-core machine has) twice as fast as BLAKE2b, 1.8 GB/s against 0.95, and a build
    hashes every byte it writes (250 MB at 10,000 events)."""
    return hashlib.sha256(data).hexdigest()


def digester():
    """A hash object whose hexdigest() is ``digest`` of all the bytes given to update()."""
    return hashlib.sha256()


@dataclass(frozen=True, slots=True)
class PageMemo:
    """What one page read and produced last time."""

    deps: tuple[str, ...]
    """Dependency keys recorded while rendering (deps.keys)."""
    signature: bytes
    """Fingerprint of the template and the identity of its context objects (e.g. the
    previous and next event): ``signature``."""
    digest: str
    """Digest of the page's bytes."""


@dataclass(frozen=True, slots=True)
class State:
    """Everything a later build needs to know about the previous one."""

    inputs: dict[str, str]
    """'site', 'templates', 'code' and 'rec:<slug>' -> digest of the input."""
    kinds: dict[str, str]
    """slug -> kind, to find lists ('all:<kind>') that a change affects."""
    indexes: dict[str, bytes]
    """Index entry key -> digest of what it shows (deps.index_signatures)."""
    pages: dict[Url, PageMemo]
    """Every page of the previous build."""
    files: dict[Url, str] = field(default_factory=dict)
    """Every other file (assets) -> digest."""


def input_digests(dossier: Dossier, record_digests: dict[str, str], templates: dict[str, str],
                  code: str) -> tuple[dict[str, str], dict[str, str]]:
    """The inputs of a build, as comparable digests, and each record's kind."""
    inputs = {"code": code,
              "templates": digest("\0".join(f"{k}\0{v}" for k, v in
                                            sorted(templates.items())).encode())}
    kinds = {}
    for slug, record in dossier.entities.items():
        inputs[f"rec:{slug}"] = record_digests[slug]
        kinds[slug] = KIND_OF[type(record)]
    inputs["site"] = record_digests["site"]
    return inputs, kinds


def changed_keys(old: State | None, inputs: dict[str, str], kinds: dict[str, str],
                 indexes: dict[str, bytes], bodies: set[str] = frozenset()
                 ) -> set[str] | None:
    """Dependency keys whose value differs from the previous build (None: everything).
    An event of ``bodies`` (``body_edits``) changed its ``body:`` key alone."""
    if old is None or any(old.inputs.get(k) != inputs.get(k)
                          for k in ("code", "templates", "site")):
        return EVERYTHING
    changed: set[str] = set()
    old_inputs, old_indexes = old.inputs, old.indexes
    differing = [key for key, value in inputs.items() if old_inputs.get(key) != value]
    for key in differing + list(old_inputs.keys() - inputs.keys()):
        if key.startswith("rec:"):
            slug = key[4:]
            if slug in bodies:
                changed.add(body(slug))
                continue
            changed.add(key)
            changed.add(f"all:{kinds.get(slug) or old.kinds.get(slug)}")
    changed.update(key for key, value in indexes.items() if old_indexes.get(key) != value)
    changed.update(old_indexes.keys() - indexes.keys())
    return changed


def touched_entries(old: State | None, inputs: dict[str, str], kinds: dict[str, str],
                    before: dict, after: dict, dossier: Dossier) -> set[str] | None:
    """The slugs whose index entries (deps.index_signatures) an edit of records can have
    changed, or None when every entry is to be taken again: no previous build, a record
    added or removed or of another kind, any other input changed, or a record's earlier
    validation outcome not at hand (``before``, ``after``: validated records by digest).

    A record is in an entry of another's only by naming it (a participant, a speaker, a
    cited source, a [[link]], a position's organization, a parent, a related event), and
    an entry shows its own records alone, in an order of theirs: so an edited record can
    change only the entries of the slugs it names, before or after, and of those whose
    related events it is in (a relation goes both ways). Its own entries too, to be safe.
    The usual edit, to an event's prose, takes a few entries again and keeps thousands
    (all of them took 0.08 s at 10,000 events)."""
    if old is None or not old.indexes or old.kinds != kinds or \
            old.inputs.keys() != inputs.keys():
        return None
    touched: set[str] = set()
    for key, first, then in _edited(old, inputs, before, after):
        if not key.startswith("rec:") or first is None or then is None:
            return None
        slug = key[4:]
        touched.add(slug)
        for model, _, links in (first.validated, then.validated):
            touched.update(links)
            _named(model, touched)
        touched.update(event.slug for event in dossier.related_of.get(slug, ()))
    return touched


def body_edits(old: State | None, inputs: dict[str, str], before: dict, after: dict
               ) -> set[str]:
    """The slugs of the events whose file changed in their Markdown body alone since the
    previous build (``before``, ``after``: validated records by digest, as for
    ``touched_entries``): their ``body:`` key changed, their ``rec:`` key did not (deps.py).
    Anything else about them the same, to the line (``body_differs``); the [[links]] of
    the body may differ: the index entries they make are keyed apart (``idx:``)."""
    if old is None:
        return set()
    return {key[4:] for key, first, then in _edited(old, inputs, before, after)
            if key.startswith("rec:") and first is not None and then is not None
            and type(first.validated[0]) is Event and type(then.validated[0]) is Event
            and body_differs(first.validated[0], then.validated[0])}


def _edited(old: State, inputs: dict[str, str], before: dict, after: dict):
    """(key, the record validated before, after) of each input whose digest changed since
    ``old``: the records by digest from ``before`` and ``after``, each None when not at
    hand, or not validated (or not a record's key)."""
    old_inputs = old.inputs
    for key, value in inputs.items():
        was = old_inputs.get(key)
        if was == value:
            continue
        first, then = before.get(was), after.get(value)
        yield (key, first if first is not None and first.validated is not None else None,
               then if then is not None and then.validated is not None else None)


def _named(value, found: set[str]) -> None:
    """Add the slug of every Ref in a validated model (its dataclasses and tuples)."""
    if isinstance(value, Ref):
        found.add(value.slug)
    elif isinstance(value, tuple):
        for item in value:
            _named(item, found)
    elif type(value) in _FIELDS or is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS.get(type(value))
        if names is None:
            names = _FIELDS[type(value)] = tuple(f.name for f in fields(value))
        for name in names:
            _named(getattr(value, name), found)


_FIELDS: dict[type, tuple[str, ...]] = {}
"""Field names by model class (``_named``)."""


def same_records(old: State | None, kinds: dict[str, str], changed: set[str] | None) -> bool:
    """True when the site has the pages the previous build made, perhaps in another order,
    each given the same records as its context: the same records of each kind (``kinds``),
    and the same code, templates and site (``changed`` is not EVERYTHING). A record
    page's context is then its own record and, for an event, the events before and after
    it, and its title and description are its record's: whatever else changed in it, the
    page depends on that record's key (``own``), so its dependencies alone tell whether it
    is stale (``stale_urls``), but for an event whose neighbours are others
    (``new_neighbours``: a new date moved it or them). A prose edit is
    such an edit, and so is an edit of an event's title, people or date, or a profile's
    name."""
    return old is not None and changed is not EVERYTHING and old.kinds == kinds


def new_neighbours(old_order: list[Url], order: list[Url]) -> set[Url]:
    """The pages of ``order`` (events' pages, in the timeline's order) whose previous or
    next page differs from ``old_order``'s."""
    def around(urls: list[Url]) -> dict[Url, tuple]:
        return {url: (urls[i - 1] if i else None, urls[i + 1] if i + 1 < len(urls) else None)
                for i, url in enumerate(urls)}
    old = around(old_order)
    return {url for url, pair in around(order).items() if old.get(url) != pair}


def body_differs(old: Event, new: Event) -> bool:
    """True when two events differ in their Markdown body and nothing else."""
    return new.body != old.body and replace(new, body=old.body) == old


def valid_fragments(fragments: dict, changed: set[str] | None, intact: set
                    ) -> tuple[dict, set[Url]]:
    """The pieces (Here.cached, deps.pieces) none of whose dependencies changed, in the
    files that are ``intact`` (as the previous build left them: the pieces are copied
    from there); and the files that held the others (their pages must be rendered
    again: a page's own dependencies leave out its pieces')."""
    if changed is EVERYTHING:
        return {}, set()
    valid, dropped = {}, set()
    for key, value in fragments.items():
        if key[0] in intact and changed.isdisjoint(value[2]):
            valid[key] = value
        else:
            dropped.add(key[0])
    return valid, dropped


def signature(spec: PageSpec) -> bytes:
    """The identity of a page's context: which records it was given, in which order (as
    a 16-byte fingerprint: the state keeps one per page)."""
    context = spec.context
    return fingerprint((spec.template, spec.title, spec.description,
                        tuple(sorted([(k, _ident(v)) for k, v in context.items()]))
                        if context else ()))


def _ident(value):
    """What identifies a context value: a record's slug, a quote's id, a list's items'
    (a ``Later``, its type alone: asked for a slug, it made its value, which the page's
    dependency keys cover). Records, quotes and lists are known by their type first: the
    fixed pages' contexts hold 29,000 values at 10,000 events. Their signatures took
    0.035 s with the timeline's filters made, now 0.015 s."""
    kind = type(value)
    if kind in _RECORDS:
        return value.slug
    if kind is Quote:
        return value.id
    if kind is list or kind is tuple:
        return tuple([_ident(v) for v in value])
    if kind is Later:
        return "Later"
    slug = getattr(value, "slug", _NO_SLUG)
    if slug is not _NO_SLUG:
        return slug
    if isinstance(value, Quote):
        return value.id
    if isinstance(value, (list, tuple)):
        return tuple([_ident(v) for v in value])
    if isinstance(value, str):
        return str(value)                         # a plain str (not Markup) for marshal
    return value if isinstance(value, (int, type(None))) else type(value).__name__


_RECORDS = frozenset(KIND_OF)
"""The record types, whose slug is a field."""


_NO_SLUG = object()


def stale_pages(specs: list[PageSpec], old: State | None,
                changed: set[str] | None, dropped: set[Url] = frozenset(),
                signatures: dict[Url, bytes] | None = None) -> list[PageSpec]:
    """The pages that must be rendered again: those whose dependencies changed, those
    whose context did (``signature``), and those that lost a piece (``dropped``: see
    valid_fragments). The signatures taken go into ``signatures``, for next_state: the
    pages every dossier has list every record (the timeline's, the single-file
    edition's), and taking theirs again took an edit at 10,000 events 0.03 s."""
    if old is None or changed is EVERYTHING:
        return list(specs)
    stale = []
    for spec in specs:
        memo = old.pages.get(spec.url)
        found = None if memo is None else signature(spec)
        if signatures is not None and found is not None:
            signatures[spec.url] = found
        if memo is None or spec.url in dropped or memo.signature != found \
                or not changed.isdisjoint(memo.deps):
            stale.append(spec)
    return stale


def stale_urls(old: State, changed: set[str], dropped: set[Url] = frozenset()) -> list[Url]:
    """``stale_pages`` for the record pages when the site has the pages it had
    (``same_records``), without their plan: only dependencies and lost pieces tell
    (planning 12,700 pages and comparing their contexts took 0.1 s at 10,000 events)."""
    return [url for url, memo in old.pages.items()
            if url in dropped or not changed.isdisjoint(memo.deps)]


def _same_keys(first: tuple[str, ...], then: tuple[str, ...]) -> bool:
    """True when two pages' dependency keys are the same keys (made from a set, they come
    in another order in another process): a page rendered again keeps its tuple, which
    the cache's log then leaves out (cache._page_changes)."""
    return first == then or (len(first) == len(then) and set(first) == set(then))


def next_state(inputs: dict[str, str], kinds: dict[str, str], old: State | None,
               urls: list[Url], specs: list[PageSpec],
               rendered: dict[Url, tuple[str, tuple[str, ...]]],
               files: dict[Url, str], indexes: dict[str, bytes],
               signatures: dict[Url, bytes] | None = None) -> State:
    """The state after this build, whose pages are ``urls``: fresh memos for rendered
    pages ({url: (digest of the bytes, dependency keys)}, each planned in ``specs``, its
    signature taken unless ``signatures`` has it: see stale_pages), old ones for the
    rest; ``indexes`` from index_signatures."""
    planned = {spec.url: spec for spec in specs if spec.url in rendered}
    known = signatures or {}
    was = {} if old is None else old.pages
    pages = {}
    for url in urls:
        if url in rendered:
            page_digest, deps = rendered[url]
            before = was.get(url)
            if before is not None and _same_keys(before.deps, deps):
                deps = before.deps                # (a set's order differs by process)
            found = known.get(url)
            pages[url] = PageMemo(deps, signature(planned[url]) if found is None else found,
                                  page_digest)
        else:
            pages[url] = old.pages[url]
    return State(inputs, kinds, indexes, pages, files)
