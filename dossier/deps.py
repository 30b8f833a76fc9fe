"""What each page reads, recorded while it renders, so a rebuild re-renders only what changed.

A page's dependencies are keys:
``rec:<slug>``            the content of one record (its file), but for an event's body;
``body:<slug>``           an event's Markdown body;
``idx:<index>:<slug>``    one entry of a Dossier index (events_of, mentions_of, ...);
``all:<kind>``            every record of a kind (lists such as the timeline).
Templates reach the dossier only through ``TrackedDossier`` and ``Here``, which add the
keys of everything they hand out; a template's every read of an event's ``body``
attribute adds its ``body:`` key (render's Jinja environment), and so does Python code's
(``Dossier.body``). An edit of an event's body alone changes its ``body:`` key, not its
``rec:`` key (incremental.body_edits): the pages and blocks that list the event without
showing its body are kept (the timeline, the directories, its neighbours' pages).
"""

from __future__ import annotations

import marshal
import sys
from zlib import crc32
from hashlib import blake2b as _blake2b
from typing import Iterable

from .link import Backlink, Dossier
from .model import Quote

INDEXES = ("events_of", "quotes_by", "quotes_from", "mentions_of", "cited_by", "related_of", "members_of",
           "children_of")
LISTS = {"events": "event", "people": "person", "organizations": "organization",
         "sources": "source", "quotes": "event", "conflicts": "event"}


class _Keys(dict):
    """``<prefix>:<slug>`` by slug, each made once, interned, the first time it is asked
    for."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def __missing__(self, slug: str) -> str:
        key = self[slug] = sys.intern(f"{self.prefix}:{slug}")
        return key


rec = _Keys("rec").__getitem__
"""``rec(slug)``: ``rec:<slug>``, one interned string per slug. A build records two
million of them at 10,000 events: one made anew each time had to be hashed, and interned
by ``keys``, again; and a lookup through a Python function took a quarter of a second
of its frames. This is the dict's own lookup (its ``__missing__`` makes a new one)."""

body = _Keys("body").__getitem__
"""``body(slug)``: ``body:<slug>``, the key of an event's Markdown body, made as ``rec``."""


def keys(deps) -> tuple[str, ...]:
    """Dependency keys as kept between builds: a tuple of interned strings, so that the
    many pages and fragments naming one key share one string (in memory and in the
    pickled cache). Test it with ``changed.isdisjoint(keys)``."""
    return tuple(map(sys.intern, deps))


def value_slugs(value) -> Iterable[str]:
    """Slugs of the records an index value displays."""
    for item in value:
        if isinstance(item, tuple):
            item = item[0]
        if isinstance(item, Quote):
            yield item.event
        elif isinstance(item, Backlink):
            if item.owner:
                yield item.owner
        else:
            yield item.slug


class TrackedIndex:
    """A read-only view of one Dossier index that records what it hands out."""

    def __init__(self, name: str, index: dict, deps: set[str], reads: dict):
        self.name, self.index, self.deps, self.reads = name, index, deps, reads

    def get(self, key, default=()):
        read = self.reads.get((self.name, key))
        if read is None:                          # the entry's key, and its records'
            read = self.reads[self.name, key] = (f"idx:{self.name}:{key}", *{
                rec(slug) for slug in value_slugs(self.index.get(key, ()))})
        self.deps.update(read)
        value = self.index.get(key, default)
        if value is default and default:          # no such entry: what it shows instead
            self.deps.update(rec(slug) for slug in value_slugs(default))
        return value

    def __getitem__(self, key):
        return self.get(key)

    def __contains__(self, key) -> bool:
        self.deps.add(f"idx:{self.name}:{key}")
        return key in self.index


class TrackedEntities:
    """Dossier.entities, recording each record looked up."""

    def __init__(self, entities: dict, deps: set[str]):
        self.entities, self.deps = entities, deps

    def __getitem__(self, slug):
        self.deps.add(rec(slug))
        return self.entities[slug]

    def get(self, slug, default=None):
        self.deps.add(rec(slug))
        return self.entities.get(slug, default)

    def __contains__(self, slug) -> bool:
        self.deps.add(rec(slug))
        return slug in self.entities


class TrackedDossier:
    """The Dossier as templates see it: every read leaves a dependency key."""

    def __init__(self, dossier: Dossier, deps: set[str]):
        self._dossier, self._deps = dossier, deps

    def name(self, slug: str) -> str:
        self._deps.add(rec(slug))
        return self._dossier.name(slug)

    def kind(self, slug: str) -> str:
        self._deps.add(rec(slug))
        return self._dossier.kind(slug)

    def url(self, slug: str):
        self._deps.add(rec(slug))
        return self._dossier.url(slug)

    def body(self, event) -> str:
        self._deps.add(body(event.slug))
        return event.body

    def __getattr__(self, name: str):
        value = getattr(self._dossier, name)
        if name in INDEXES:
            return TrackedIndex(name, value, self._deps, self._dossier.reads)
        if name == "entities":
            return TrackedEntities(value, self._deps)
        if name in LISTS:
            self._deps.add(f"all:{LISTS[name]}")
        return value


BLOCK = 8
"""Records per block on average (see ``blocks``)."""


def blocks(items, name) -> list[tuple[list, tuple[str, ...]]]:
    """``items`` cut into blocks of consecutive records, each with the names (``name(item)``:
    slug or quote id) of its records: the unit in which list pages and data files are kept
    between builds (an edit makes again the blocks that show what it changed, and the
    others are copied from the previous build's file: write.Sink).

    A block ends after a record whose name's CRC-32 is a multiple of BLOCK, so where
    blocks end depends on the records around, not on their positions: a record added,
    removed or moved changes the blocks it leaves and joins, and no other."""
    items = list(items)
    names = _names(items) if name is record_name else [name(item) for item in items]
    ends = _ENDS.get(BLOCK)
    if ends is None:
        ends = _ENDS[BLOCK] = {}
    found, start = [], 0
    for position, label in enumerate(names, 1):
        end = ends.get(label)
        if end is None:
            end = ends[label] = not crc32(label.encode("utf-8", "surrogatepass")) % BLOCK
        if end:
            found.append((items[start:position], tuple(names[start:position])))
            start = position
    if start < len(items):
        found.append((items[start:], tuple(names[start:])))
    return found


_ENDS: dict[int, dict[str, bool]] = {}
"""Whether a block ends after each name seen, by BLOCK (a record's name is met in several
lists, and again in each build of a serve session)."""


def _names(items: list) -> list[str]:
    """``record_name`` of each item: slugs of records (a quote has none), or else."""
    try:
        return [item.slug for item in items]
    except AttributeError:
        return [record_name(item) for item in items]


def record_name(item) -> str:
    """What names a record or quote in a block (see ``blocks``); any other value, its repr."""
    if isinstance(item, Quote):
        return item.id
    slug = getattr(item, "slug", None)
    return slug if isinstance(slug, str) else repr(item)


def pieces(dossier: Dossier, fragments: dict | None, url: str, part: str, items, make,
           separator: bytes = b"") -> list:
    """``make(tracked_dossier, item)`` for each record or quote of the file ``url``, as
    UTF-8, with ``separator`` between them, in blocks (``blocks``): chunks to write one
    after the other (a data file is never joined in memory: built whole as a str, then
    encoded, dossier.json took over 100 MB at once at 10,000 events).

    Each block is a piece for the file's writer (write.Sink.piece): ``(key, bytes,
    dependency keys)`` when made now, or ``(key, span, dependency keys)`` when the
    store of ``fragments`` has it (blocks the previous build's file holds, still valid:
    incremental.valid_fragments; ``span``: its offset, length, keys and digest there).
    A block's key is ``(url, part, fingerprint of its names)``. Without a store, every
    block is made (and the file's digest is the same: see write.Sink), and nothing it
    reads is recorded: without a store nothing keeps the keys."""
    def made(run: list) -> tuple[bytes, tuple[str, ...]]:
        deps = {rec(item.event if isinstance(item, Quote) else item.slug) for item in run}
        tracked = TrackedDossier(dossier, deps)
        return separator.join([make(tracked, item).encode("utf-8") for item in run]), keys(deps)

    def untracked(run: list) -> tuple[bytes, tuple[str, ...]]:
        return separator.join([make(dossier, item).encode("utf-8") for item in run]), ()
    return list(blocked(fragments, url, part, items, separator,
                        untracked if fragments is None else made))


def blocked(fragments: dict | None, url: str, part: str, items, separator: bytes, made):
    """The chunks of a list of records for write.Sink, in blocks (``blocks``), with
    ``separator`` between them: each block a piece under ``(url, part, fingerprint of
    its records' names)``, ``(key, span, dependency keys)`` when ``fragments`` has it
    (see incremental.valid_fragments), else ``(key, *made(block's records))``: its bytes
    and dependency keys. A generator: a block is made when the writer comes to it. Data
    files (``pieces``) and the lists of pages (Here.each) both go through here."""
    store = {} if fragments is None else fragments
    for number, (run, names) in enumerate(blocks(items, record_name)):
        if number and separator:
            yield separator
        key = (url, part, fingerprint(names))
        hit = store.get(key)
        yield (key, hit, hit[2]) if hit is not None else (key, *made(run))


def joined(separator: bytes, parts: list) -> list:
    """``separator.join(parts)`` as a list of chunks (bytes, or pieces: see ``pieces``) to
    write one after the other (a data file is never built whole: see outputs.Producer)."""
    chunks = [separator] * (2 * len(parts) - 1) if parts else []
    chunks[::2] = parts
    return chunks


def fingerprint(value) -> bytes:
    """A 16-byte digest of a signature made of strings, numbers, None and tuples of
    them: what is kept of a signature between builds, to compare, instead of the
    signature itself.

    Serialized by marshal's format 2, which writes no back-references and no interning
    flags, so equal values give equal bytes whatever objects hold them (three times as
    fast as repr). Anything else (a dataclass) raises ValueError: pass its fields."""
    return _blake2b(marshal.dumps(value, 2), digest_size=16).digest()


def index_signatures(dossier: Dossier, kept: dict[str, bytes] | None = None,
                     touched: set[str] = frozenset()) -> dict[str, bytes]:
    """Every index entry as a comparable value, to find which entries a change touched:
    the fingerprint of what the entry shows (ENTRY_SIGNATURES). The signatures themselves
    took 19 MB at 10,000 events, in the state kept between builds and again in each new
    build.

    With ``kept`` (the previous build's), only the entries of the slugs ``touched`` are
    taken again, in every index (incremental.touched_entries: the entries an edit can
    have changed), and the others kept: a 10k date edit's took 0.079 s, now 0.002 s."""
    signatures = {} if kept is None else dict(kept)
    for name in INDEXES:
        shown, index = ENTRY_SIGNATURES[name], getattr(dossier, name)
        for key in index if kept is None else touched:
            value = index.get(key)
            if value is None:
                signatures.pop(f"idx:{name}:{key}", None)     # its last record left
            else:
                signatures[f"idx:{name}:{key}"] = fingerprint(shown(value))
    return signatures


def _backlinks(value) -> tuple:
    return tuple([(b.page, b.title, b.kind, b.detail, b.owner) for b in value])


def _quote_ids(value) -> tuple:
    return tuple([q.id for q in value])


def _slugs(value) -> tuple:
    return tuple([record.slug for record in value])


ENTRY_SIGNATURES = {
    "events_of": lambda value: (tuple([event.slug for event, _ in value]),
                                tuple([role for _, role in value])),
    "quotes_by": _quote_ids,
    "quotes_from": _quote_ids,
    "mentions_of": _backlinks,
    "cited_by": _backlinks,
    "related_of": _slugs,
    "members_of": lambda value: tuple([(person.slug, p.title, str(p.start), str(p.end),
                                        str(p.in_office)) for person, p in value]),
    "children_of": _slugs,
}
"""What an entry of each index (Dossier's ``events_of`` ... ``children_of``) shows beyond
the records it names (whose own changes are their ``rec:`` keys): which records, in
which order, with their roles, positions and backlink texts."""
