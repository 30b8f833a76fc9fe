"""The serial front of a big build on both cores: content files read, parsed and
validated, and templates compiled, by two processes at once.

Load, validate and link run before any page can render, on one core: 2.5 s of a clean
build at 10,000 events. Validating a record needs nothing of the others but the site's
language, so a forked worker compiles the templates and then takes files from a queue it
shares with the parent (as render does with pages); both hand their outcomes on as
records validated by an earlier build would be (``load.validated``, keyed by digest, with
each file's stat). The ordinary load then finds every file known, and only links.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from .errors import TemplateFailure
from .load import (SITE_FILE, Record, content_entries, display_path, load_file, prefetch,
                   unchanged_digest)
from .render import (CompiledTemplates, chunks, die_with_parent, make_environment, splice_safe,
                     widen_pipe)
from .validate import outcome, validate_site

PREPARE_MIN = 200
"""Below this many files to parse, a second process costs more than it saves."""
CHUNK = 32


@dataclass(frozen=True)
class Prepared:
    """What ``load_content`` and ``make_environment`` are then given."""

    known: dict[str, Record]
    """Validated records by file digest: the cache's, and those made here."""
    site: str
    """Digest of the dossier.yaml they were validated under."""
    stats: dict
    """Shown path -> (size, mtime, digest) of the files read here, and the cache's."""
    templates: jinja2.BytecodeCache | None
    """The compiled templates (the on-disk cache when nothing was compiled here)."""
    entries: list | None = None
    """content/ as listed here (load.content_entries), for the load not to list it again."""
    splice: bool | None = None
    """render.splice_safe(templates), found by the worker once it compiled them (None:
    not found here): 0.045 s the parent would spend while the second core waits."""
    now: dict = field(default_factory=dict)
    """Each file's stat as taken here, by path (load_file's ``now``): the load finds every
    file it parsed known without a stat of its own (listing and stats: 0.065 s at 10,000
    events, while the second core waited)."""


READING = "reading content"
"""The stage ``progress(stage, files done, files)`` reports here."""


def prepare(content: Path, templates: dict[str, str], known: dict[str, Record],
            known_site: str, stats: dict, jobs: int,
            bytecode: jinja2.BytecodeCache | None, progress=None) -> Prepared:
    """Validate, on two processes, the files the cache does not know; nothing is done
    here (and a problem in any file is left for the ordinary load to report) when they
    are few, when there is one core, or when dossier.yaml cannot be read. ``progress``
    is told how many files either process has taken."""
    unchanged = Prepared(known, known_site, stats, bytecode)
    if jobs < 2 or "fork" not in mp.get_all_start_methods() or \
            _same_site(content, known, known_site, stats):
        return unchanged
    listed = content_entries(content)
    entries = [(kind, path, shown) for kind, path, shown, problem in listed if problem is None]
    if not entries or entries[0][0] != "site":
        return unchanged
    try:
        site = load_file(*entries[0], {})
    except OSError:                                 # the ordinary load reports it
        return unchanged
    if not isinstance(site, Record):
        return unchanged
    if site.digest != known_site:
        known, stats = {}, {}                       # another dossier.yaml: all anew
    todo = [entry for entry in entries[1:] if entry[2] not in stats]
    if len(todo) < PREPARE_MIN:
        return unchanged
    prefetch([path for _, path, _ in todo])
    language = validate_site(site, []).language
    context = mp.get_context("fork")
    taken = context.Value("q", 0)
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_worker, args=(send, todo, taken, language, templates,
                                                   bytecode, (os.getpid(), receive)))
    worker.start()
    send.close()
    widen_pipe(receive)
    found, seen, now, done = {}, {}, {}, []
    try:
        for chunk in chunks(todo, taken, CHUNK):
            _validate(chunk, language, found, seen, now)
            while not done and receive.poll():      # what the worker has done so far
                _take(receive.recv(), found, seen, now, done)
            if progress is not None:
                progress(READING, min(taken.value, len(todo)), len(todo))
        if progress is not None:                    # every file taken, the rest the worker's
            progress(READING, len(todo), len(todo))
        while not done:
            _take(receive.recv(), found, seen, now, done)
    except EOFError:                                # the worker died: the load does the rest
        pass
    except BaseException:
        worker.terminate()
        raise
    finally:
        worker.join()
    compiled, splice = done[0] if done else (None, None)
    return Prepared({**known, **found}, site.digest, {**stats, **seen},
                    CompiledTemplates(compiled, bytecode) if compiled else bytecode,
                    listed, splice, now)


def _same_site(content: Path, known: dict, known_site: str, stats: dict) -> bool:
    """True when an earlier build validated records under this very dossier.yaml (by its
    size and modification time, as load_file tells): then few files if any need parsing,
    and nothing here need even list them."""
    site = content / SITE_FILE
    try:
        st = os.stat(site)
    except OSError:
        return False
    return bool(known) and unchanged_digest(display_path(site, content.parent), st,
                                            stats) == known_site


def _validate(chunk: list, language: str, found: dict, seen: dict, now: dict) -> None:
    """Read, parse and validate files (each one's stat kept in ``now``); one that cannot
    be read or parsed is skipped (the ordinary load reports it).

    The chunk's files are all parsed, then all validated: the same work as validating
    each as it is parsed, in 7 % less CPU (2.33 -> 2.17 s for 12,700 files), the YAML
    parser's code and the validators' each staying in the processor's caches."""
    records = []
    for kind, path, shown in chunk:
        try:
            now[path] = os.stat(path)
            records.append(load_file(kind, path, shown, {}, None, seen, now))
        except OSError:
            now.pop(path, None)
    for record in records:
        if isinstance(record, Record):
            found[record.digest] = outcome(record, language)


def _take(message: tuple, found: dict, seen: dict, now: dict, done: list) -> None:
    """Add a chunk's outcome from the worker; its last message ((its compiled templates,
    whether they are splice_safe), or (None, None)) goes to ``done``."""
    if message[0] == "done":
        done.append(message[1:])
    else:
        found.update(message[1])
        seen.update(message[2])
        now.update(message[3])


def _worker(send, todo, taken, language, templates, bytecode, parent) -> None:
    """Compile the templates (and tell whether they are splice_safe), then validate chunks
    of files, sending each chunk's outcome at once (the parent takes them in between its
    own chunks)."""
    die_with_parent(parent)
    compiled = safe = None
    try:
        try:
            cache = CompiledTemplates(inner=bytecode)
            make_environment(templates, cache)
            compiled = cache.stored
            safe = splice_safe(templates)
        except TemplateFailure:                     # the parent's own compile reports it
            pass
        for chunk in chunks(todo, taken, CHUNK):
            found, seen, now = {}, {}, {}
            _validate(chunk, language, found, seen, now)
            send.send(("part", found, seen, now))
        send.send(("done", compiled, safe))
    except KeyboardInterrupt:                       # Ctrl-C: the parent stops the build
        pass
    finally:
        send.close()
