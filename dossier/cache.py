"""The persistent build cache in .dossier-cache/: parsed records and the last build's state.

I/O at the edge. The cache is never trusted blindly: it is keyed on the code's own
digest, a corrupt or foreign file is ignored (and rebuilt), and ``--no-cache`` skips it.
"""

from __future__ import annotations

import bisect
import copyreg
import dataclasses
import functools
import itertools
import marshal
import operator
import os
import pickle
import secrets
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2

from . import dates, errors, incremental, link, load, model, wikilinks
from .incremental import PageMemo, State, digest
from .load import Record

FILE = "cache.pickle"
_CODE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class OnDisk:
    """What the stored base and logs (see BASE) add up to."""

    token: str
    """Names the base; every log carries it."""
    logs: int
    log_bytes: int
    base_bytes: int
    state: State
    fragments: dict
    """A copy: the next build's store must be free to change without changing this."""


@dataclass
class Cache:
    """What one build hands to the next."""

    code: str
    """Digest of the dossier package's source: another version means another cache."""
    out: str = ""
    """The output folder the state describes."""
    build_id: str = ""
    """The build id written in that folder's marker when the state was saved."""
    state: State | None = None
    """Pages, dependencies and digests of that build."""
    parsed: dict[str, Record] = field(default_factory=dict)
    """Validated records by file digest (load.validated), so unchanged files are neither
    parsed nor validated again while dossier.yaml is unchanged."""
    site_digest: str = ""
    """Digest of the dossier.yaml those records were validated under."""
    stats: dict = field(default_factory=dict)
    """Content file -> (size, mtime, digest): unchanged files are not read (load_file)."""
    markdown: dict = field(default_factory=dict)
    """Portable Markdown by (inline, text), checked against link names; charts."""
    fragments: dict = field(default_factory=dict)
    """Blocks of the previous build's streamed pages and data files: key -> (offset,
    length, dependency keys, digest) in the file the key names first (write.Sink)."""
    spliced: dict = field(default_factory=dict)
    """Those files -> (size, modification time) as the build left them: pieces are
    copied only from a file still so (write.file_stamps)."""
    splice: tuple = ()
    """(templates' digest, render.splice_safe of them)."""
    stored: dict = field(default_factory=dict, repr=False)
    """("parsed", shard) -> the records read from that shard file (see SHARDED):
    unchanged shards are not written again (not saved itself)."""
    markdown_sizes: dict = field(default_factory=dict)
    """Markdown shard -> entries it holds on disk: how big the memo is without reading it."""
    lineage: tuple = ()
    """(token, number of logs) of the base and logs that hold ``state`` and ``fragments``
    (see BASE); saved in cache.pickle, which is written after them."""
    on_disk: OnDisk | None = field(default=None, repr=False)
    """The state and fragments as the base and logs on disk hold them: the next save
    writes only what differs from them (not saved itself)."""


def _reducer(cls: type):
    """How to pickle a frozen slotted dataclass: as a call to a function made for the
    class, which sets each field straight through its slot, in straight-line code.

    Dataclasses' own __setstate__ loops over the fields in Python; a generic function
    looping over the class's slot setters was three times faster; one made per class
    (as dataclasses makes __init__) saves a further quarter: reading 10,000 events'
    records back takes 0.15 s. The function is a module global, which pickle names. The
    field values are taken by operator.attrgetter, in C: pickling every record of
    10,000 events 0.30 -> 0.20 s (prepare's worker sends half of them)."""
    fields = [f.name for f in dataclasses.fields(cls)]
    name = f"_new_{cls.__module__.rpartition('.')[2]}_{cls.__name__}"
    rebuild = model.constructor(cls, name)
    rebuild.__module__, rebuild.__qualname__ = __name__, name
    globals()[name] = rebuild
    values = operator.attrgetter(*fields)             # a tuple, made in C (one field:
    if len(fields) == 1:                              # the value alone)
        return lambda instance: (rebuild, (values(instance),))
    return lambda instance: (rebuild, values(instance))


def _register_fast_pickling(*modules) -> None:
    """Pickle the model's frozen slotted dataclasses through copyreg (see _reducer):
    reading 10,000 validated records back went from 0.8 s to 0.15 s."""
    for module in modules:
        for value in vars(module).values():
            if (isinstance(value, type) and dataclasses.is_dataclass(value)
                    and "__slots__" in value.__dict__ and value.__dataclass_params__.frozen
                    and value not in copyreg.dispatch_table):
                copyreg.pickle(value, _reducer(value))


_register_fast_pickling(dates, errors, model, wikilinks, load, link, incremental)


@functools.cache
def code_digest() -> str:
    """Digest of every module of the package, as this process loaded it (taken once: a
    module edited while serve runs is not the code that runs)."""
    parts = [p.read_bytes() for p in sorted(_CODE.glob("*.py"))]
    return digest(b"\0".join(parts))


_UNREADABLE = (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
               TypeError, ValueError, IndexError)


def _load(path: Path, kind: type, marshalled: bool = False):
    """The pickled (or marshalled) object at ``path`` if it is a ``kind``; None if
    missing or corrupt. A marshalled file is read whole, then decoded: marshal.load
    reads a file object by object (434 Markdown shards, a 10k profile edit's: 0.08 s,
    against 0.018 s read whole)."""
    try:
        with open(path, "rb") as handle:
            found = marshal.loads(handle.read()) if marshalled else pickle.load(handle)
    except _UNREADABLE:
        return None
    return found if isinstance(found, kind) else None


def _dump(path: Path, value, marshalled: bool = False) -> bool:
    """Pickle (or marshal) ``value`` atomically (see _written).

    Marshal is for values made of plain strings, bytes, numbers, tuples, lists and dicts:
    pickling a str beyond ASCII attaches a UTF-8 copy to it for as long as it lives
    (the Markdown memo's HTML: 16 MB more at the end of a first 10,000-event build),
    marshal encodes a copy it then drops."""
    if marshalled:
        return _written(path, lambda handle: marshal.dump(value, handle))
    return _written(path, lambda handle: pickle.dump(value, handle,
                                                     protocol=pickle.HIGHEST_PROTOCOL))


def _written(path: Path, write) -> bool:
    """``write(file)`` into a temporary file, then renamed to ``path``; a failure never
    fails the build (it returns False)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(temporary, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except (OSError, ValueError):                   # ValueError: an unmarshallable value
        return False
    return True


SHARDED = {"parsed": "records", "markdown": "markdown"}
"""Parts of the cache kept in SHARDS[part] files each, by key. Their entries are right on
their own (records by file digest; Markdown checked against link names when used), so a
shard from an older save is never wrong, and an edit rewrites only the shards it changed.
Every record is needed by every build, so all their shards are read at once; Markdown
shards are read when a text in them is first asked for (``LazyShards``): an edit needs
a few dozen texts of tens of thousands."""
SHARDS = {"parsed": 64, "markdown": 4096}
MARSHALLED = {"markdown"}
"""Sharded parts written with marshal (see _dump): the Markdown memo is HTML, signatures
and charts, all plain values; records are dataclasses, pickled."""


def _shard(part: str, key) -> int:
    if part == "parsed":                                   # a hex digest
        return int(key[:2], 16) % SHARDS[part]
    if len(key) == 2 and isinstance(key[1], str):          # (inline, text): no repr
        return zlib.crc32(key[1].encode("utf-8", "surrogatepass")) % SHARDS[part]
    return zlib.crc32(repr(key).encode("utf-8", "surrogatepass")) % SHARDS[part]


def _read_shard(path: Path, scope: tuple, marshalled: bool = False) -> dict | None:
    """A shard's entries, or None when it is missing, corrupt or from another scope."""
    found = _load(path, tuple, marshalled)
    if found is None or len(found) != 2 or found[0] != scope or not isinstance(found[1], dict):
        return None
    return found[1]


class LazyShards(dict):
    """A sharded part of the cache whose shard files are read the first time a key that
    belongs in them is looked up or set (a dict of what has been read and added). A
    failure to read one is an empty shard, as in ``load_cache``.

    Reading during rendering is the one read of the cache outside ``load_cache``; it
    touches nothing but .dossier-cache/."""

    def __init__(self, folder: Path, part: str, scope: tuple):
        super().__init__()
        self.folder, self.part, self.scope = folder, part, scope
        self.read: dict[int, dict] = {}
        """Shard number -> the entries read from its file ({} if none): what a save
        compares with."""
        self.made: list = []
        """Keys set (not read), in order, again when set again: what a render worker
        sends back (render._worker), rather than every entry it read from a shard."""

    def _ensure(self, key) -> None:
        number = _shard(self.part, key)
        if number not in self.read:
            self._read(number)

    def load_all(self) -> None:
        """Read every shard not read yet (before a forked worker shares the dict)."""
        for number in range(SHARDS[self.part]):
            if number not in self.read:
                self._read(number)

    def _read(self, number: int) -> None:
        path = self.folder / SHARDED[self.part] / f"{number:02d}.pickle"
        entries = _read_shard(path, self.scope, self.part in MARSHALLED) or {}
        self.read[number] = entries
        for key, value in entries.items():
            dict.setdefault(self, key, value)              # what was set first stays

    def get(self, key, default=None):
        self._ensure(key)
        return dict.get(self, key, default)

    def __getitem__(self, key):
        self._ensure(key)
        return dict.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        self._ensure(key)
        return dict.__contains__(self, key)

    def __setitem__(self, key, value) -> None:
        self._ensure(key)
        dict.__setitem__(self, key, value)
        self.made.append(key)

    def update(self, other=(), **kwargs) -> None:
        for key, value in dict(other, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        self._ensure(key)
        return dict.setdefault(self, key, default)


def _scope(cache: Cache, part: str) -> tuple:
    """What a shard's entries are valid under: the code, and for records dossier.yaml."""
    return (cache.code, cache.site_digest if part == "parsed" else "")


BASE, LOGS = "state/base.pickle", "state"
"""The last build's state and fragments (together: they share their dependency keys),
about 120 MB at 10,000 events. A save that is not a clean build appends a log of what
changed (an edit: some pages' memos, the pieces it re-rendered, the ones it dropped)
instead of writing them again; the logs are folded into a new base once they weigh a
LOG_SHARE of it, or number MAX_LOGS."""
MAX_LOGS = 32
LOG_SHARE = 0.25
"""Logs are folded into a new base once their bytes reach this share of the base's."""
_MISSING = object()
_STATE_PARTS = ("inputs", "kinds", "indexes", "pages", "files")


FRAGMENT_CHUNK = 512
"""Fragments per marshal record in the base file."""


def _dump_base(path: Path, token: str, state: State, fragments: dict) -> bool:
    """Write the base atomically: (token, state, number of fragments) pickled, then the
    fragments as marshal records of FRAGMENT_CHUNK entries, each preceded by its length.

    Fragments are plain tuples, strings and bytes, which marshal writes without pickle's
    memo of every object it has seen (48 MB at 10,000 events, on top of everything a
    first build holds), a chunk at a time, and reads back faster; the dependency keys,
    interned, come back interned and so shared, as pickle's memo kept them. A failure
    never fails the build (it returns False)."""
    def write(handle) -> None:
        pickle.dump((token, state, len(fragments)), handle, protocol=pickle.HIGHEST_PROTOCOL)
        entries = iter(fragments.items())
        while chunk := dict(itertools.islice(entries, FRAGMENT_CHUNK)):
            data = marshal.dumps(chunk)
            handle.write(len(data).to_bytes(8, "little"))
            handle.write(data)
    return _written(path, write)


def _load_base(path: Path) -> tuple[str, State, dict] | None:
    """(token, state, fragments) from a base file, or None if it is missing or corrupt."""
    try:
        with open(path, "rb") as handle:
            head = pickle.load(handle)
            if not (isinstance(head, tuple) and len(head) == 3 and isinstance(head[0], str)
                    and isinstance(head[1], State) and isinstance(head[2], int)):
                return None
            fragments: dict = {}
            while len(fragments) < head[2]:
                size = int.from_bytes(handle.read(8), "little")
                data = handle.read(size)
                chunk = marshal.loads(data) if len(data) == size else None
                if not isinstance(chunk, dict) or not chunk:
                    return None
                fragments.update(chunk)
            if len(fragments) != head[2] or handle.read(1):
                return None
    except _UNREADABLE:
        return None
    return head[0], head[1], fragments


def _log_path(folder: Path, number: int) -> Path:
    return folder / LOGS / f"log-{number:03d}.pickle"


def _changes(old: dict, new: dict) -> tuple[dict, tuple]:
    """(entries new or different, keys removed) from ``old`` to ``new`` (values are
    compared by equality, which is quick for the same object: most are)."""
    get = old.get
    return ({key: value for key, value in new.items()
             if (was := get(key, _MISSING)) is not value and was != value},
            tuple(old.keys() - new.keys()))


def _apply(entries: dict, change: tuple[dict, tuple]) -> None:
    updates, removed = change
    for key in removed:
        entries.pop(key, None)
    entries.update(updates)


def _page_changes(old: dict, new: dict) -> tuple[dict, tuple, tuple | None]:
    """``_changes`` for the pages, each page rendered again with the same dependencies
    (incremental.next_state keeps the same tuple) as (signature, digest) alone (a 10k
    date edit's log held 0.64 MB of the timeline's and the single-file edition's keys,
    unchanged), with the pages' new order when applying the rest would not leave it, as
    each page's position in what it would leave (38 KB at 10k). The pages are in the
    timeline's order, and an edit that moves an event changes it alone: read back
    without it, the next edit compared its order with an older one and left two events'
    previous and next links stale."""
    updates, removed = _changes(old, new)
    get = old.get
    slim = {key: (memo.signature, memo.digest)
            if (was := get(key)) is not None and was.deps == memo.deps else memo
            for key, memo in updates.items()}
    left = [key for key in old if key in new]         # the order _apply leaves
    left.extend(key for key in updates if key not in old)
    if left == list(new):
        return slim, removed, None
    position = {key: number for number, key in enumerate(left)}
    return slim, removed, tuple([position[key] for key in new])


def _apply_pages(entries: dict, change: tuple[dict, tuple, tuple | None]) -> None:
    updates, removed, order = change
    _apply(entries, ({key: PageMemo(entries[key].deps, *memo) if isinstance(memo, tuple)
                      else memo for key, memo in updates.items()}, removed))
    if order is not None:
        keys = list(entries)
        ordered = {keys[number]: entries[keys[number]] for number in order}
        if len(ordered) != len(keys):
            raise ValueError("an order that is not every page's")
        entries.clear()
        entries.update(ordered)


def _span_changes(old: dict, new: dict) -> tuple[dict, tuple, tuple]:
    """``_changes`` for the fragments, with the blocks that only moved apart: (entries new
    or different, the moves, keys removed). An edit moves every block after it in each
    file it rewrites, most of them by the same few bytes: the moves are runs, by file,
    of blocks in the order of their old offsets that moved alike, each (file, first and
    last old offset, how far). Logged one by one, they were 0.7 MB of a 10k date edit's
    log, which folded the logs into a new base every fifth date edit (0.15 s); logged
    whole, 3 MB of a 14 MB base."""
    get = old.get
    updates, moving = {}, {}
    for key, value in new.items():
        was = get(key)
        if was is value:
            continue
        if was is not None and was[1] == value[1] and was[3] == value[3] and \
                was[2] == value[2]:                 # (no slices: 17,000 at 10k)
            if was[0] != value[0]:
                moving[key] = value[0] - was[0]
        else:
            updates[key] = value
    removed = tuple(old.keys() - new.keys())
    moves: list = []
    if moving:
        kept: dict[str, list] = {}                  # what _apply_spans moves, by file
        files, gone = {key[0] for key in moving}, set(removed)
        for key, value in old.items():
            if key[0] in files and key not in updates and key not in gone:
                kept.setdefault(key[0], []).append((value[0], moving.get(key, 0)))
        for url, blocks in kept.items():
            blocks.sort()
            for offset, delta in blocks:            # (runs that did not move part
                if moves and moves[-1][0] == url and moves[-1][3] == delta:  # the others)
                    moves[-1][2] = offset
                else:
                    moves.append([url, offset, offset, delta])
        moves = [tuple(move) for move in moves if move[3]]
    return updates, tuple(moves), removed


def _apply_spans(entries: dict, change: tuple[dict, tuple, tuple]) -> None:
    updates, moves, removed = change
    for key in removed:
        entries.pop(key, None)
    if moves:
        runs: dict[str, list] = {}
        for url, first, last, delta in moves:
            runs.setdefault(url, []).append((first, last, delta))
        moved = {}
        for key, value in entries.items():              # (an updated block's offset
            found = runs.get(key[0])                        # is its update's)
            if found is None:
                continue
            offset = value[0]
            at = bisect.bisect_right(found, (offset, float("inf"), 0)) - 1
            if at >= 0 and found[at][0] <= offset <= found[at][1]:
                moved[key] = (offset + found[at][2], *value[1:])
        entries.update(moved)
    entries.update(updates)


def _read_lineage(folder: Path, cache: Cache) -> Cache:
    """``cache`` with the state and fragments of its lineage: the base and every log, or
    none of them (no state, no fragments: every page is rendered) if one is missing."""
    empty = replace(cache, state=None, fragments={}, lineage=(), on_disk=None)
    if len(cache.lineage) != 2:
        return empty
    token, logs = cache.lineage
    base = _load_base(folder / BASE)
    if base is None or base[0] != token:
        return empty
    state, fragments = base[1], base[2]
    parts = {name: dict(getattr(state, name)) for name in _STATE_PARTS}
    log_bytes = 0
    for number in range(1, logs + 1):
        path = _log_path(folder, number)
        log = _load(path, tuple)
        if log is None or len(log) != 3 or log[:2] != (token, number):
            return empty
        try:
            for name in _STATE_PARTS:
                (_apply_pages if name == "pages" else _apply)(parts[name], log[2][name])
            _apply_spans(fragments, marshal.loads(log[2]["fragments"]))  # marshalled apart:
        except (ValueError, EOFError, TypeError, IndexError, KeyError):  # no pickle memo
            return empty
        log_bytes += path.stat().st_size
    state = State(**parts)
    size = (folder / BASE).stat().st_size
    return replace(cache, state=state, fragments=fragments,
                   on_disk=OnDisk(token, logs, log_bytes, size, state, dict(fragments)))


def _write_lineage(folder: Path, cache: Cache) -> Cache:
    """Write the state and fragments as a log on what is on disk, or as a new base;
    return ``cache`` with its new lineage (unchanged if writing failed)."""
    if cache.state is None:
        return replace(cache, lineage=(), on_disk=None)
    known = cache.on_disk
    if known is not None and known.logs < MAX_LOGS and \
            known.log_bytes < known.base_bytes * LOG_SHARE:
        change = {name: _changes(getattr(known.state, name), getattr(cache.state, name))
                  for name in _STATE_PARTS if name != "pages"}
        change["pages"] = _page_changes(known.state.pages, cache.state.pages)
        change["fragments"] = marshal.dumps(_span_changes(known.fragments, cache.fragments))
        number = known.logs + 1
        path = _log_path(folder, number)
        if not _dump(path, (known.token, number, change)):
            return replace(cache, lineage=(), on_disk=None)
        return replace(cache, lineage=(known.token, number), on_disk=OnDisk(
            known.token, number, known.log_bytes + path.stat().st_size, known.base_bytes,
            cache.state, dict(cache.fragments)))
    token = secrets.token_hex(8)
    if not _dump_base(folder / BASE, token, cache.state, cache.fragments):
        return replace(cache, lineage=(), on_disk=None)
    for stale in (folder / LOGS).glob("log-*.pickle"):
        _remove(stale)
    return replace(cache, lineage=(token, 0), on_disk=OnDisk(
        token, 0, 0, (folder / BASE).stat().st_size, cache.state, dict(cache.fragments)))


def load_cache(folder: Path, stop: Callable[[], bool] | None = None) -> Cache | None:
    """The cache in ``folder``, or an empty one if it is missing, stale or corrupt.

    Shards written under another code version (or, for records, another dossier.yaml)
    or unreadable are ignored, and so are a state and fragments whose base or logs are
    not all there. ``stop`` is asked before each record shard and before the state are
    read: once it says True, loading ends there and None is returned (nothing changed:
    pipeline._told_unchanged)."""
    code = code_digest()
    cache = _load(folder / FILE, Cache)
    if cache is None or cache.code != code:
        return Cache(code)
    parsed, stored = {}, {}
    for number in range(SHARDS["parsed"]):
        if stop is not None and stop():
            return None
        found = _read_shard(folder / SHARDED["parsed"] / f"{number:02d}.pickle",
                            _scope(cache, "parsed"))
        if found is not None:
            parsed.update(found)
            stored[("parsed", number)] = found
    if stop is not None and stop():
        return None
    cache = _read_lineage(folder, cache)
    return replace(cache, stored=stored, parsed=parsed,
                   markdown=LazyShards(folder, "markdown", _scope(cache, "markdown")))


def save_cache(folder: Path, cache: Cache) -> Cache:
    """Write the cache, the sharded parts only where a shard changed and the state as a
    log where one will do; a failure to write it never fails the build. Returns the cache
    as it now is on disk (to save again later)."""
    for part, name in SHARDED.items():
        held = getattr(cache, part)
        lazy = isinstance(held, LazyShards) and held.folder == folder
        shards = _touched(part, held, held.read if lazy else
                          {n: cache.stored[part, n] for n in range(SHARDS[part])
                           if (part, n) in cache.stored}, lazy)
        if shards is None:                              # nothing read: every shard
            shards = {}
            for key, value in held.items():
                shards.setdefault(_shard(part, key), {})[key] = value
            numbers = range(SHARDS[part])               # (an emptied one is removed)
        else:
            numbers = shards                            # the others are as they were
        for number in numbers:
            entries = shards.get(number, {})
            was = held.read[number] if lazy else cache.stored.get((part, number))
            if _same(was, entries):
                continue                                # already on disk
            path = folder / name / f"{number:02d}.pickle"
            if entries:
                _dump(path, (_scope(cache, part), entries), part in MARSHALLED)
            else:
                _remove(path)
            if lazy:
                held.read[number] = entries
        if part == "markdown":                          # what is read holds all it adds
            sizes = {**cache.markdown_sizes, **{n: len(entries) for n, entries in held.read.items()}} \
                if lazy else {n: len(entries) for n, entries in shards.items()}
            cache = replace(cache, markdown_sizes={n: k for n, k in sizes.items() if k})
    cache = _write_lineage(folder, cache)               # first: cache.pickle names it
    _dump(folder / FILE, replace(cache, stored={}, state=None, fragments={}, on_disk=None,
                                 **{part: {} for part in SHARDED}))
    return cache


def _touched(part: str, held: dict, read: dict[int, dict], lazy: bool
             ) -> dict[int, dict] | None:
    """Shard number -> the entries ``held`` has for it now, for each shard that may differ
    from what was read from its file (``read``: shard number -> entries); the others are
    as they were. None: every shard is to be compared (nothing was read, as in a first
    build).

    Only keys set since the shards were read can make one differ: a lazy part lists them
    (LazyShards.made); for another, the keys new, gone or holding another object than
    the one read, and a shard not read (missing or unreadable: rewritten, or removed
    when it holds nothing now). Sharding every entry to compare each shard whole took 0.02 s of a 10k
    edit's save (12,700 records, and the Markdown a profile edit read)."""
    if lazy:
        numbers = {_shard(part, key) for key in held.made}
    elif not read:
        return None
    else:
        where = {key: number for number, entries in read.items() for key in entries}
        numbers = {where[key] for key in where.keys() - held.keys()}      # gone
        numbers.update(set(range(SHARDS[part])) - read.keys())            # unread
        for key, value in held.items():
            number = where.get(key)
            if number is None:
                numbers.add(_shard(part, key))                            # new
            elif read[number][key] is not value:
                numbers.add(number)                                       # another object
    shards = {number: {key: dict.__getitem__(held, key) for key in read.get(number, ())
                       if dict.__contains__(held, key)} for number in numbers}
    for key in (held.made if lazy else held.keys() - where.keys()):
        number = _shard(part, key)
        if number in shards:
            shards[number][key] = dict.__getitem__(held, key)
    return shards


def memo_size(cache: Cache) -> int:
    """Entries in the Markdown memo, read or not."""
    held = cache.markdown
    if not isinstance(held, LazyShards):
        return len(held)
    unread = sum(k for n, k in cache.markdown_sizes.items() if n not in held.read)
    return unread + len(held)


def _same(stored: dict | None, entries: dict) -> bool:
    """True when a shard holds exactly the objects it was read with."""
    return stored is not None and len(stored) == len(entries) and all(
        stored.get(key, stored) is value for key, value in entries.items())


def template_cache(folder: Path) -> jinja2.BytecodeCache | None:
    """Jinja's on-disk cache of compiled templates (keyed by their source), if writable."""
    try:
        (folder / "jinja").mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder / "jinja"))


STAMP = "stamp.pickle"


@dataclass(frozen=True)
class Stamp:
    """What a no-op check needs, small enough to read in a moment: the inputs' fingerprint
    and the summary of the build that produced the output folder."""

    fingerprint: str
    """Digest of every input file's path, size and modification time, the code and options."""
    out: str
    build_id: str
    total: int
    """Files in the site."""
    counts: str
    """'22 events, 11 people, ...' for the summary line."""
    warnings: tuple = ()


def stat_fingerprint(folders: list[Path], extra: str, found: dict | None = None) -> str:
    """Digest of (path, size, mtime) of every file under the folders: if it is unchanged,
    so are the inputs (the same test make and Hugo use). Any difference sends the build
    through the full content-hash comparison, which takes each file's stat from
    ``found`` (path -> os.stat_result) instead of asking again (12,700 files)."""
    parts = [extra]
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if found is not None:
                    found[path] = st
                parts.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}")
    return digest("\n".join(parts).encode("utf-8", "surrogateescape"))


def load_stamp(folder: Path) -> Stamp | None:
    return _load(folder / STAMP, Stamp)


def save_stamp(folder: Path, stamp: Stamp | None) -> None:
    """Write (or, with None, remove) the stamp; failures never fail the build."""
    if stamp is not None:
        _dump(folder / STAMP, stamp)
    else:
        _remove(folder / STAMP)


def _remove(path: Path) -> None:
    """Delete a cache file if it is there; a failure never fails the build."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
