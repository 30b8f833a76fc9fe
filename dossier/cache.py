"""The persistent build cache in .dossier-cache/: parsed records and the last build's state.

I/O at the edge. The cache is never trusted blindly: it is keyed on the code's own
digest, a corrupt or foreign file is ignored (and rebuilt), and ``--no-cache`` skips it.
"""

from __future__ import annotations

import copyreg
import dataclasses
import os
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path

import jinja2

from . import dates, errors, incremental, link, load, model, wikilinks
from .incremental import State, digest
from .load import Record

FILE = "cache.pickle"
_CODE = Path(__file__).resolve().parent


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
    """Pieces of pages and data files -> (text, dependency keys), valid for ``state``."""
    stored: dict = field(default_factory=dict, repr=False)
    """Shard -> (site digest, record digests) as read from disk: unchanged shards of
    ``parsed`` are not written again (not saved itself)."""


def _rebuild(cls: type, values: tuple):
    """An instance of a frozen slotted dataclass from its field values, set straight
    through the slots (what dataclasses' own __setstate__ does, three times faster)."""
    instance = object.__new__(cls)
    for setter, value in zip(_SETTERS[cls], values):
        setter(instance, value)
    return instance


_SETTERS: dict[type, tuple] = {}


def _reducer(cls: type):
    getters = tuple(cls.__dict__[f.name].__get__ for f in dataclasses.fields(cls))
    _SETTERS[cls] = tuple(cls.__dict__[f.name].__set__ for f in dataclasses.fields(cls))
    return lambda instance: (_rebuild, (cls, tuple([get(instance) for get in getters])))


def _register_fast_pickling(*modules) -> None:
    """Pickle the model's frozen slotted dataclasses through copyreg: reading 10,000
    validated records back went from 0.8 s to 0.25 s."""
    for module in modules:
        for value in vars(module).values():
            if (isinstance(value, type) and dataclasses.is_dataclass(value)
                    and "__slots__" in value.__dict__ and value.__dataclass_params__.frozen
                    and value not in _SETTERS):
                copyreg.pickle(value, _reducer(value))


_register_fast_pickling(dates, errors, model, wikilinks, load, link, incremental)


def code_digest() -> str:
    """Digest of every module of the package and of its templates' loader code."""
    parts = [p.read_bytes() for p in sorted(_CODE.glob("*.py"))]
    return digest(b"\0".join(parts))


_UNREADABLE = (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError,
               TypeError, ValueError, IndexError)


def _load(path: Path, kind: type):
    """The pickled object at ``path`` if it is a ``kind``; None if missing or corrupt."""
    try:
        with open(path, "rb") as handle:
            found = pickle.load(handle)
    except _UNREADABLE:
        return None
    return found if isinstance(found, kind) else None


def _dump(path: Path, value) -> None:
    """Pickle atomically (write a temporary file, rename); a failure never fails the build."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(temporary, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except OSError:
        pass


RECORDS = "records"
SHARDS = 64
"""Validated records are kept in this many files, by digest: an edit rewrites one or two
of them instead of every record (pickling 10,000 records took a second)."""


def _shard(record_digest: str) -> int:
    return int(record_digest[:2], 16) % SHARDS


def load_cache(folder: Path) -> Cache:
    """The cache in ``folder``, or an empty one if it is missing, stale or corrupt.

    Record shards written under another code version or another dossier.yaml are
    ignored; each shard only adds records by digest, so a shard from an older save is
    still right about the files it describes."""
    code = code_digest()
    cache = _load(folder / FILE, Cache)
    if cache is None or cache.code != code:
        return Cache(code)
    parsed, stored = {}, {}
    for number in range(SHARDS):
        found = _load(folder / RECORDS / f"{number:02d}.pickle", tuple)
        if found is None or len(found) != 3 or found[:2] != (code, cache.site_digest):
            continue
        parsed.update(found[2])
        stored[number] = (cache.site_digest, frozenset(found[2]))
    return replace(cache, parsed=parsed, stored=stored)


def save_cache(folder: Path, cache: Cache) -> None:
    """Write the cache (records shard by shard, only the shards that changed); a failure
    to write it never fails the build."""
    shards: dict[int, dict] = {number: {} for number in range(SHARDS)}
    for record_digest, record in cache.parsed.items():
        shards[_shard(record_digest)][record_digest] = record
    for number, records in shards.items():
        if cache.stored.get(number) == (cache.site_digest, frozenset(records)):
            continue                                  # the same records, already on disk
        path = folder / RECORDS / f"{number:02d}.pickle"
        if records:
            _dump(path, (cache.code, cache.site_digest, records))
        else:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
    _dump(folder / FILE, replace(cache, parsed={}, stored={}))


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


def stat_fingerprint(folders: list[Path], extra: str) -> str:
    """Digest of (path, size, mtime) of every file under the folders: if it is unchanged,
    so are the inputs (the same test make and Hugo use). Any difference sends the build
    through the full content-hash comparison."""
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
                parts.append(f"{path}\0{st.st_size}\0{st.st_mtime_ns}")
    return digest("\n".join(parts).encode("utf-8", "surrogateescape"))


def load_stamp(folder: Path) -> Stamp | None:
    return _load(folder / STAMP, Stamp)


def save_stamp(folder: Path, stamp: Stamp | None) -> None:
    """Write (or, with None, remove) the stamp; failures never fail the build."""
    if stamp is not None:
        _dump(folder / STAMP, stamp)
        return
    try:
        (folder / STAMP).unlink(missing_ok=True)
    except OSError:
        pass
