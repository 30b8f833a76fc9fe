"""``python build.py serve``: build, serve, watch, rebuild incrementally, reload browsers.

The only module that imports livereload (2.x, Tornado). Its server provides the
websocket and livereload.js; we replace two of its parts that lose saves: change
detection (livereload stops at the first changed file and throttles reloads to one per
few seconds) and the static handler (ours injects the error overlay). A burst of saves
is debounced into one rebuild; a save during a build triggers another, so the last
save always wins. No exception escapes into the event loop.
"""

from __future__ import annotations

import gc
import html
import json
import mimetypes
import os
import signal
import struct
import sys
import threading
import time
import traceback
import webbrowser
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Callable, TextIO

from livereload import Server
from livereload.handlers import LiveReloadHandler
from livereload.watcher import Watcher
from tornado import ioloop, web

from .errors import ContentErrors, DossierError, UsageError
from .cache import load_cache, save_cache
from .outputs import GENERATED, SEARCH_INDEX
from .pipeline import build
from .preview import ahead, preview, preview_ahead
from .project import Project
from .words import counted

POLL_SECONDS = 0.05
"""How often the watched folders are checked when they must be walked (no inotify)."""
INOTIFY_POLL_SECONDS = 0.01
"""How often pending change events are read (a cheap read of a file descriptor)."""
QUIET_SECONDS = 0.04
"""A change is built once the watched files have been still for this long."""
SETTLED_QUIET_SECONDS = 0.01
"""The same, when the watcher saw every written file closed (inotify): a save is whole."""
OPEN_WRITE_SECONDS = 0.5
"""How long a file left open for writing may hold a rebuild back."""
PREVIEW_MIN_PAGES = 500
"""Below this many pages a whole rebuild is about as quick as a preview (tens of
milliseconds), so a save takes the one path that does everything."""
OVERLAY_ID = "dossier-build-errors"
MAX_LISTED = 200
"""More changed pages than this (a template edit) reload every tab, not a long list."""
PAGES = "dossier-pages:"
"""Reload message path prefix: a JSON list of the pages that changed (see RELOAD_PLUGIN)."""
RELOAD_PLUGIN = (
    b'<script>window.LiveReloadPluginDossier=function(){};'
    b'LiveReloadPluginDossier.identifier="dossier";LiveReloadPluginDossier.version="1.0";'
    b'LiveReloadPluginDossier.prototype.reload=function(path){'
    b'if(path.indexOf("' + PAGES.encode() + b'")!==0)return false;'
    b'var here=decodeURIComponent(location.pathname).replace(/^\\/+/,"");'
    b'if(here===""||here.slice(-1)==="/")here+="index.html";'
    b'return JSON.parse(path.slice(' + str(len(PAGES)).encode() + b')).indexOf(here)<0;};'
    b'</script>')
"""A livereload.js plugin, put in every served page before livereload.js loads: told
which pages changed, a tab reloads only if its own page is one of them (livereload.js
alone reloads every tab for every change)."""


def snapshot(folders: list[Path], ignore: Path) -> dict[str, tuple[int, int, int]]:
    """(mtime_ns, size, inode) of every file under the watched folders, ``ignore`` excluded."""
    found = {}
    ignore_text = str(ignore.resolve())
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")
                       and not os.path.join(root, d).startswith(ignore_text)]
            for name in files:
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except FileNotFoundError:
                    continue
                found[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return found


class Snapshots:
    """Change detection by walking the folders and comparing (mtime, size, inode)."""

    interval = POLL_SECONDS
    sees_writes = False

    def __init__(self, folders: list[Path], ignore: Path):
        self.folders, self.ignore = folders, ignore
        self.seen = snapshot(folders, ignore)
        self.touched: set[str] = set()
        """Paths changed since the caller last emptied it."""

    def changed(self) -> bool:
        now = snapshot(self.folders, self.ignore)
        if now == self.seen:
            return False
        self.touched.update(path for path in now.keys() | self.seen.keys()
                            if now.get(path) != self.seen.get(path))
        self.seen = now
        return True

    def settled(self) -> bool:
        """Walking cannot tell whether a file is still being written."""
        return False


class Inotify:
    """Change detection by Linux inotify (through libc): the kernel queues an event for
    every write, creation, deletion, rename or touch under the watched folders, so a check
    costs one read however many files there are (walking 12,700 files took 65 ms)."""

    interval = INOTIFY_POLL_SECONDS
    sees_writes = True
    _MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800
    """MODIFY, ATTRIB, CLOSE_WRITE, MOVED_FROM, MOVED_TO, CREATE, DELETE, DELETE_SELF,
    MOVE_SELF."""
    _DIR_ADDED, _ISDIR, _IGNORED = 0x100 | 0x80, 0x40000000, 0x8000
    _MODIFY, _CLOSE_WRITE, _GONE = 0x2, 0x8, 0x40 | 0x200

    def __init__(self, folders: list[Path], ignore: Path):
        import ctypes
        import ctypes.util
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        weakref.finalize(self, os.close, self.fd)     # freed with the watcher (a user has
        # 128 inotify instances here; a process that made many servers kept them all)
        self.tops = [str(folder) for folder in folders]
        self.ignore = str(ignore.resolve())
        self.dirs: dict[int, str] = {}
        self.writing: set[tuple[int, bytes]] = set()   # modified, not yet closed
        self.touched: set[str] = set()
        """Paths changed since the caller last emptied it (a folder's own path when the
        folder itself changed)."""
        for top in self.tops:
            self._watch_tree(top)

    def _watch_tree(self, top: str) -> None:
        for root, dirs, _ in os.walk(top):
            dirs[:] = [d for d in dirs if not d.startswith(".")
                       and not os.path.join(root, d).startswith(self.ignore)]
            wd = self._add(self.fd, os.fsencode(root), self._MASK)
            if wd >= 0:
                self.dirs[wd] = root

    def changed(self) -> bool:
        changed = False
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                break
            changed = True
            offset = 0
            while offset < len(data):
                wd, mask, _, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16:offset + 16 + length].rstrip(b"\0")
                offset += 16 + length
                if wd in self.dirs:
                    self.touched.add(os.path.join(self.dirs[wd], os.fsdecode(name))
                                     if name else self.dirs[wd])
                if mask & self._MODIFY:
                    self.writing.add((wd, name))
                elif mask & (self._CLOSE_WRITE | self._GONE):
                    self.writing.discard((wd, name))
                if mask & self._IGNORED:
                    self.dirs.pop(wd, None)
                elif mask & self._ISDIR and mask & self._DIR_ADDED and wd in self.dirs:
                    folder = os.path.join(self.dirs[wd], os.fsdecode(name))
                    if not os.path.basename(folder).startswith("."):
                        self._watch_tree(folder)
        watched = set(self.dirs.values())
        for top in self.tops:                          # a watched folder replaced as a whole
            if top not in watched and os.path.isdir(top):
                self._watch_tree(top)
                self.touched.add(top)
                changed = True
        return changed

    def settled(self) -> bool:
        """True when every file written since the last check has been closed again."""
        return not self.writing


def watcher(folders: list[Path], ignore: Path):
    """Inotify where the system has it, else snapshots."""
    try:
        return Inotify(folders, ignore)
    except (OSError, AttributeError):
        return Snapshots(folders, ignore)


def overlay(messages: list[str]) -> bytes:
    """The error panel shown over every served page while the build is broken."""
    items = "".join(f"<li>{html.escape(m)}</li>" for m in messages)
    return (
        f'<div id="{OVERLAY_ID}" role="alert" style="position:fixed;left:0;right:0;bottom:0;'
        'z-index:2147483647;max-height:60vh;overflow:auto;margin:0;padding:1rem 1.25rem;'
        'background:#2a0f12;color:#fff;border-top:4px solid #e5484d;'
        'font:14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace">'
        '<button type="button" onclick="this.parentNode.remove()" aria-label="Hide errors" '
        'style="float:right;background:none;color:#fff;border:1px solid #fff;'
        'font:inherit;cursor:pointer">×</button>'
        f'<strong>Build failed ({counted(len(messages), "problem")})'
        '. The page below is from the last good build; it reloads when you fix this.</strong>'
        f'<ul style="margin:.5rem 0 0;padding-left:1.25rem">{items}</ul></div>'
    ).encode()


def reload_path(changed) -> str:
    """What browsers are told after these files were written: a stylesheet's path (it is
    swapped in place), PAGES with the pages among them (only tabs showing one of those
    reload; the search index counts for the search page), or '*' when a file that every
    page may load changed (every tab reloads). Data files no page loads (dossier.json,
    the CSV files, the feed, ...) reload nothing."""
    if changed and all(url.endswith(".css") for url in changed):
        return changed[0]
    downloads = {url for url, _ in GENERATED} - {SEARCH_INDEX}
    if any(not url.endswith(".html") and url not in downloads and url != SEARCH_INDEX
           for url in changed):
        return "*"
    pages = [url for url in changed if url.endswith(".html")]
    if SEARCH_INDEX in changed:
        pages.append("search.html")
    return "*" if len(pages) > MAX_LISTED else PAGES + json.dumps(pages)


def inject(page: bytes, panel: bytes) -> bytes:
    """Put the panel right after the <body> tag (or at the start of a page without one)."""
    start = page.find(b"<body")
    end = page.find(b">", start) + 1 if start != -1 else 0
    return page[:end] + panel + page[end:]


class DevSite:
    """The served site: builds, remembers the last errors, decides when to rebuild.

    With ``background``, builds after the first run in a thread, so that the server
    answers requests meanwhile (the browser's reload of a previewed page above all);
    ``notify`` must then be safe to call from that thread. A save made while a build runs
    is built next; if that build follows a preview and the save too changes only bodies,
    its pages are previewed at once (``_preview_ahead``)."""

    def __init__(self, project: Project, out: TextIO, err: TextIO,
                 notify: Callable[[str], None] = lambda path: None, background: bool = False):
        self.project, self.out, self.err, self.notify = project, out, err, notify
        self.watched = [p for p in (project.content, project.templates, project.assets)
                        if p.is_dir()]
        self.cache = None
        self.dossier = None
        """The last good build's linked dossier (what a preview patches)."""
        self.errors: list[str] = []
        self.changes = watcher(self.watched, project.out)
        self.changed_at: float | None = None
        self.first_change_at: float | None = None
        self.background = background
        self.worker: threading.Thread | None = None
        self.lock = threading.Lock()
        """Guards the hand-over of a finished build against a preview made meanwhile."""
        self.pending: dict | None = {}
        """The bodies on top of ``dossier`` that the build under way makes (None: it makes
        changes not known here; {} once it has handed its dossier over)."""
        self.unsettled = False
        """True from a build's start to the hand-over of its cache and dossier."""
        self.ahead: dict = {}
        """Pages written by previews while that build ran: their memos, for its state."""
        self.ahead_slugs: set[str] = set()
        self.dirty = False
        """Saves seen while a build ran, to build next."""
        self.dirty_bodies: dict | None = {}
        """The bodies those saves changed, when that is all they changed (else None)."""

    def busy(self) -> bool:
        """True while a build, or the linking of an up-to-date dossier when serve starts
        (``_warm``), runs in the background."""
        return self.worker is not None and self.worker.is_alive()

    def finish(self) -> None:
        """Wait for a build running in the background."""
        if self.worker is not None:
            self.worker.join()

    def start(self) -> None:
        """The first build, before serving; if it found nothing to do, link the dossier in
        the background so that the first save can be previewed."""
        self._build()
        if self.dossier is None and self.cache is not None and not self.errors:
            self._then(self._warm)

    def rebuild(self) -> None:
        """Preview the pages of an edit when it can (preview.py), then build; on failure
        keep the last good site and show the errors."""
        touched, self.changes.touched = self.changes.touched, set()
        self.pending = None
        if self._previewable():
            self._preview(touched)
        self._start_build()

    def _previewable(self) -> bool:
        state = self.cache.state if self.cache is not None else None
        return (state is not None and len(state.pages) >= PREVIEW_MIN_PAGES
                and self.dossier is not None and not self.errors)

    def _start_build(self) -> None:
        """Build next; unsettled from now, before a preview made meanwhile can look."""
        self.unsettled = True
        self._then(self._build)

    def _then(self, job: Callable[[], None]) -> None:
        """Run a job next: in a thread with ``background``, else at once."""
        if not self.background:
            job()
            return
        self.worker = threading.Thread(target=job, name="dossier-rebuild", daemon=True)
        self.worker.start()

    def _warm(self) -> None:
        """Link the dossier behind a build that found nothing to do (serve started on an
        up-to-date site). It writes nothing, and says nothing, unless something was saved
        since: then it is a rebuild like any other."""
        self.pending = None
        found = None
        try:
            found = self._build_once(quiet=True)
        finally:
            self._settle(*(found or (None, None)))

    def _preview(self, touched: set[str]) -> None:
        started = time.perf_counter()
        done = self._guarded(lambda: preview(self.project, self.cache, self.dossier, touched))
        if done is None:
            return
        self.cache, self.pending = done.cache, dict(done.bodies)
        self._previewed(done.urls, started, "rebuilding the rest")

    def _preview_ahead(self, touched: set[str]) -> None:
        """A save while the build after a preview runs: preview its pages now if it too
        changes only bodies; the running build's state learns of them when it is done."""
        started = time.perf_counter()
        with self.lock:
            pending, dossier, cache = self.pending, self.dossier, self.cache
            pending = None if pending is None else dict(pending)
        done = None
        if pending is not None and dossier is not None and cache is not None \
                and cache.state is not None and not self.errors:
            done = self._guarded(lambda: preview_ahead(self.project, cache.state, dossier,
                                                       pending, touched))
        if done is None:
            self.dirty_bodies = None                      # the next build does it all
            return
        bodies, memos = done
        with self.lock:
            if self.pending is not None:
                self.pending.update(bodies)
            if self.unsettled:                            # its state learns of them when done
                self.ahead.update(memos)
                self.ahead_slugs.update(bodies)
            else:                                         # it has handed over meanwhile
                self.cache = replace(self.cache, state=ahead(self.cache.state, memos, bodies))
        if self.dirty_bodies is not None:
            self.dirty_bodies.update(bodies)
        self._previewed(tuple(sorted(memos)), started, "building it next")

    def _guarded(self, make):
        """A preview's result, or None (and the whole build does it) if it fails."""
        try:
            return make()
        except DossierError:
            return None                                   # the build reports it properly
        except Exception:  # a bug must not stop the server: say so and build instead
            print("preview failed (please report); rebuilding everything:\n"
                  + traceback.format_exc(), file=self.err, flush=True)
            return None

    def _previewed(self, urls, started: float, then: str) -> None:
        print(f"previewed in {(time.perf_counter() - started) * 1000:.0f} ms: "
              f"{', '.join(urls)}; {then}", file=self.out, flush=True)
        self.notify(reload_path(urls))

    def _build(self) -> None:
        """Build now; on failure keep the last good site and show the errors."""
        found = None
        try:
            found = self._build_once()
        finally:
            self._settle(*(found or (None, None)))

    def _build_once(self, quiet: bool = False):
        started = time.perf_counter()
        try:  # the first build may start from the disk cache; later ones keep it in memory
            report = build(self.project, cache=self.cache, use_cache=self.cache is None)
        except ContentErrors as error:
            self._failed([str(p) for p in error.problems])
            return None
        except DossierError as error:
            self._failed([str(error)])
            return None
        except Exception:  # a bug must not stop the server: show it and keep serving
            self._failed(["internal error (please report):"] +
                         traceback.format_exc().splitlines()[-6:])
            return None
        had_errors, self.errors = bool(self.errors), []
        if quiet and not (report.written or report.removed or had_errors):
            return report.cache or self.cache, report.dossier
        print(f"{'rebuilt' if self.cache is not None else 'built'} in {(time.perf_counter() - started) * 1000:.0f} ms: "
              f"{report.written} files written ({', '.join(report.changed_urls[:6])}"
              f"{' …' if len(report.changed_urls) > 6 else ''}), {report.rendered} pages "
              f"rendered, {report.total - report.written} unchanged", file=self.out, flush=True)
        if report.written or report.removed or had_errors:
            self.notify("*" if had_errors or report.removed else reload_path(report.changed_urls))
        return report.cache or load_cache(self.project.cache), report.dossier

    def _settle(self, cache, dossier) -> None:
        """Take on a finished build's cache and dossier (the last ones when it failed), with
        the pages previews wrote while it ran."""
        with self.lock:
            self.cache = cache or self.cache
            self.dossier = dossier or self.dossier
            if self.ahead and self.cache is not None and self.cache.state is not None:
                self.cache = replace(self.cache, state=ahead(self.cache.state, self.ahead,
                                                             self.ahead_slugs))
            self.pending, self.ahead, self.ahead_slugs = {}, {}, set()
            self.unsettled = False

    def _failed(self, messages: list[str]) -> None:
        self.errors = messages
        for message in messages:
            print(message, file=self.err, flush=True)
        print(f"build failed: {counted(len(messages), 'problem')}; "
              "serving the last good build",
              file=self.err, flush=True)
        self.notify("*")

    def poll(self) -> None:
        """Called every few milliseconds: rebuild once the files have been still for a moment
        (a short moment when the watcher saw every written file closed, so a save is whole;
        a file held open for writing holds the rebuild back, but not for ever). A save
        made while a build runs is previewed at once when it can be, and built next."""
        now = time.monotonic()
        if self.changes.changed():
            self.changed_at = now
            self.first_change_at = self.first_change_at or now
            return
        if self.changed_at is None:
            if self.dirty and not self.busy():
                self._build_next()
            return
        still = now - self.changed_at
        if self.changes.settled():
            ready = still >= SETTLED_QUIET_SECONDS
        else:
            ready = still >= QUIET_SECONDS and (
                not self.changes.sees_writes or now - self.first_change_at >= OPEN_WRITE_SECONDS)
        if not ready:
            return
        self.changed_at = self.first_change_at = None
        if not self.busy():
            self.rebuild()
            return
        touched, self.changes.touched = self.changes.touched, set()
        self.dirty = True
        self._preview_ahead(touched)

    def _build_next(self) -> None:
        """Build the saves made while the last build ran; when they changed only bodies
        (already previewed), a save during this build can be previewed too."""
        self.dirty = False
        self.pending, self.dirty_bodies = self.dirty_bodies, {}
        self._start_build()

    def page(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request path under the site."""
        root = self.project.out.resolve()
        target = (root / path).resolve() if path else root / "index.html"
        if root not in target.parents and target != root:
            return 403, "text/plain", b"outside the site"
        if target.is_dir():
            target = target / "index.html"
        status = 200
        if not target.is_file():
            status, target = 404, root / "404.html"
        body = target.read_bytes() if target.is_file() else \
            b"<!DOCTYPE html><html><head><title>No build yet</title></head><body></body></html>"
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind == "text/html":
            kind = "text/html; charset=utf-8"
            body = body.replace(b"</head>", RELOAD_PLUGIN + b"</head>", 1)
            if self.errors:
                body = inject(body, overlay(self.errors))
        return status, kind, body


class _PageHandler(web.RequestHandler):
    def initialize(self, site: DevSite) -> None:
        self.site = site

    def get(self, path: str) -> None:
        status, kind, body = self.site.page(path)
        self.set_status(status)
        self.set_header("Content-Type", kind)
        self.set_header("Cache-Control", "no-store")
        self.write(body)


class _SiteWatcher(Watcher):
    """Hands livereload's loop our poller instead of its mtime-per-task watcher."""

    def __init__(self, site: DevSite):
        super().__init__()
        self.site = site
        self._tasks = {"dossier": {}}  # non-empty: livereload must not watch the cwd

    def start(self, callback) -> bool:
        def guarded() -> None:
            try:
                self.site.poll()
            except Exception:  # never let an exception escape into the event loop
                traceback.print_exc()
        ioloop.PeriodicCallback(guarded, self.site.changes.interval * 1000).start()
        return True


class _Server(Server):
    def __init__(self, site: DevSite, listening):
        super().__init__(watcher=_SiteWatcher(site))
        self.site, self.listening = site, listening

    def get_web_handlers(self, script):
        return [(r"/(.*)", _PageHandler, {"site": self.site})]

    def application(self, *args, **kwargs):
        """Listen, then call ``listening()``: 'serving ... at URL' is said only once the
        URL answers (said before, a page asked for at once was refused)."""
        app = super().application(*args, **kwargs)
        self.listening()
        return app


def reload_browsers(path: str) -> None:
    """Tell every connected page what changed (see reload_path). Sent here rather than by
    LiveReloadHandler.reload_waiters, whose bare ``except:`` would swallow a Ctrl-C that
    arrives while it sends."""
    message = {"command": "reload", "path": path, "liveCSS": True, "liveImg": True}
    for waiter in list(LiveReloadHandler.waiters):
        try:
            waiter.write_message(message)
        except Exception:  # noqa: BLE001 - a closed page must not stop the others
            LiveReloadHandler.waiters.discard(waiter)


def _stop_on_ctrl_c(loop: ioloop.IOLoop) -> Callable[[], None]:
    """While the loop serves, Ctrl-C stops the loop instead of raising KeyboardInterrupt
    wherever the main thread happens to be. Raised inside a weakref callback or a
    ``__del__`` (the cycle collector runs in serve), Python prints the KeyboardInterrupt as
    "Exception ignored" and drops it, and serve went on serving. A second Ctrl-C raises as
    usual. Returns what puts the previous handler back. (Before the loop runs, during the
    first build, Ctrl-C raises: the main thread is building, not in a callback.)"""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set a handler, and receives signals
    previous = signal.getsignal(signal.SIGINT)

    def stop(signum, frame) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        loop.asyncio_loop.call_soon_threadsafe(loop.stop)
    signal.signal(signal.SIGINT, stop)
    return lambda: signal.signal(signal.SIGINT, previous)


def serve(project: Project, host: str, port: int, open_browser: bool, out: TextIO,
          err: TextIO) -> int:
    """Run the authoring server until Ctrl-C (at any moment, even during the first build)."""
    gc.enable()                          # build.py leaves it off for one-shot commands
    sys.setswitchinterval(0.0005)        # a preview made while a build runs waits less
    site = None
    try:
        loop = ioloop.IOLoop.current()
        site = DevSite(project, out, err, background=True,
                       notify=lambda path: loop.add_callback(reload_browsers, path))
        site.start()
        url = f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}/index.html"

        def listening() -> None:
            print(f"serving {project.out} at {url}  (watching "
                  f"{', '.join(str(p) for p in site.watched)}; Ctrl-C to stop)", file=out,
                  flush=True)
            if open_browser:
                threading.Timer(0.5, webbrowser.open, [url]).start()
        restore = _stop_on_ctrl_c(loop)
        try:
            _Server(site, listening).serve(port=port, host=host, root=str(project.out),
                                           restart_delay=0)
        finally:
            restore()
    except KeyboardInterrupt:
        pass
    except OSError as error:  # the port is taken, or the address is not ours
        raise UsageError(f"cannot serve on {host}:{port}: {error.strerror or error}") from None
    if site is not None:
        site.finish()
    if site is not None and site.cache is not None and not site.errors:
        save_cache(project.cache, site.cache)  # the next `python build.py` starts from here
    print("stopped", file=out, flush=True)
    return 0
