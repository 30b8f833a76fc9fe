"""The inputs' fingerprint and content/'s listing, taken on the other core.

I/O at the edge. A build with a cache first walks its inputs: the fingerprint that tells
a no-op (cache.stat_fingerprint) and each file's stat, then content/'s listing
(load.content_entries) to load. At 10,000 events that is 0.1 s of one core, followed by
0.3 s loading the cache, which needs neither. On two cores a child forked at the start
walks while the parent loads the cache, and sends what it found; the parent, between
the cache's files, asks whether the walk is done and, if nothing changed, stops loading.
On one core (or without fork) the walk is taken here, when first asked for.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path
from typing import NamedTuple

from .cache import stat_fingerprint
from .load import content_entries
from .render import die_with_parent


class Stat(NamedTuple):
    """What a build reads of a file's stat (load.load_file): named as os.stat_result's."""

    st_size: int
    st_mtime_ns: int


class Walk:
    """The walk of ``folders`` (fingerprinted with ``extra``) and the listing of
    ``content``: forked at once when ``jobs`` allows, else taken when first asked for."""

    def __init__(self, folders: list[Path], extra: str, content: Path, jobs: int):
        self.folders, self.extra = folders, extra
        self.fingerprint: str | None = None
        self.found: tuple[str, dict, list | None] | None = None
        self.worker = self.receive = None
        if jobs < 2 or "fork" not in mp.get_all_start_methods():
            return
        context = mp.get_context("fork")
        self.receive, send = context.Pipe(duplex=False)
        self.worker = context.Process(target=_walk, args=(
            send, folders, extra, content, (os.getpid(), self.receive)))
        self.worker.start()
        send.close()

    def unchanged_since(self, known: str) -> bool | None:
        """Whether the inputs' fingerprint is ``known``; None while the child has not sent
        it (never on one core: it walks then)."""
        if self.fingerprint is None and self.found is None and self.worker is not None:
            if not self.receive.poll():
                return None
            self._fingerprint()
        if self.fingerprint is None:                  # one core, or a child that failed:
            return self.result()[0] == known          # walked here
        return self.fingerprint == known

    def result(self) -> tuple[str, dict, list | None]:
        """(fingerprint, path -> stat of every file walked, content_entries of content/ or
        None when not listed). A child that failed leaves the walk to be taken here."""
        if self.found is None:
            self._fingerprint()
            sent = self._received()
            if self.worker is not None:
                self.worker.join()                        # it has sent all: it ends
            self.close()
            if self.fingerprint is not None and sent is not None:
                stats, entries = sent
                self.found = (self.fingerprint, {path: Stat(size, mtime)
                                                 for path, size, mtime in stats}, entries)
            else:
                now: dict = {}
                self.found = (stat_fingerprint(self.folders, self.extra, now), now, None)
        return self.found

    def _fingerprint(self) -> None:
        if self.fingerprint is None and self.worker is not None:
            self.fingerprint = self._received()

    def _received(self):
        """The child's next message; None if it failed or is gone."""
        if self.worker is None:
            return None
        try:
            return self.receive.recv()
        except (EOFError, OSError):
            return None

    def close(self) -> None:
        """Stop the child if it is still there (a build that ended first)."""
        if self.worker is not None:
            self.worker.terminate()
            self.worker.join()
            self.receive.close()
            self.worker = None


def _walk(send, folders: list[Path], extra: str, content: Path, parent) -> None:
    """Send the fingerprint as soon as it is known (what a no-op waits for), then every
    file's stat and content/'s listing."""
    die_with_parent(parent)
    try:
        now: dict = {}
        send.send(stat_fingerprint(folders, extra, now))
        stats = [(path, st.st_size, st.st_mtime_ns) for path, st in now.items()]
        send.send((stats, content_entries(content)))
    except BaseException:  # noqa: BLE001 - the parent walks itself
        pass
    finally:
        send.close()
