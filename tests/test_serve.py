"""The authoring server: serves, rebuilds on save, reloads browsers, shows and clears errors."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
import urllib.request
from pathlib import Path

import pytest
from tornado.websocket import websocket_connect

from conftest import REPO

EVENT = "content/events/2025-11-03-break.md"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """``python build.py serve`` in a subprocess, with its output collected."""

    def __init__(self, root: Path):
        self.root, self.port = root, free_port()
        self.out: list[str] = []
        self.err: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "build.py"), "serve", "--root", str(root),
             "--port", str(self.port)], cwd=root, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()
        self.wait_for(lambda: any(line.startswith("serving ") for line in self.out), 15)

    @staticmethod
    def _collect(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_for(self, condition, seconds: float = 5):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; stdout={self.out} stderr={self.err}")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/{path}") as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")

    def rebuilds(self) -> int:
        return sum(line.startswith("rebuilt in") for line in self.out)

    def failures(self) -> int:
        return sum(line.startswith("build failed") for line in self.err)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError(f"serve did not stop on Ctrl-C within 10 s; stdout="
                                     f"{self.out[-8:]} stderr={self.err[-8:]}") from None
        return self.proc.returncode


@pytest.fixture
def served(project):
    server = Served(project)
    yield server
    server.stop()


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


async def _reloads(port: int, action, expect: int, settle: float) -> list[dict]:
    """Connect like livereload.js, run ``action``, collect reload messages."""
    conn = await websocket_connect(f"ws://127.0.0.1:{port}/livereload")
    await conn.write_message(json.dumps(
        {"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]}))
    hello = json.loads(await conn.read_message())
    assert hello["command"] == "hello"
    await conn.write_message(json.dumps(
        {"command": "info", "url": f"http://127.0.0.1:{port}/index.html", "plugins": {}}))
    await asyncio.sleep(0.1)
    await asyncio.get_running_loop().run_in_executor(None, action)
    messages = []
    deadline = time.monotonic() + 10
    while len(messages) < expect and time.monotonic() < deadline:
        messages.append(json.loads(await asyncio.wait_for(conn.read_message(), 10)))
    try:  # and nothing more arrives within the settle time
        messages.append(json.loads(await asyncio.wait_for(conn.read_message(), settle)))
    except asyncio.TimeoutError:
        pass
    conn.close()
    return messages


def reloads(served: Served, action, expect: int = 1, settle: float = 0.6) -> list[dict]:
    # A thread of its own: Playwright's sync API may already run a loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _reloads(served.port, action, expect, settle)).result()


def test_serves_the_site_with_livereload_on_localhost_only(served):
    status, body = served.get("index.html")
    assert status == 200 and "<title>Test dossier</title>" in body
    assert "/livereload.js?port=" in body
    assert served.get("events/2025-11-03-break.html")[0] == 200
    assert served.get("nope.html")[0] == 404
    assert served.get("assets/style.css")[0] == 200
    local = f"0100007F:{served.port:04X}"  # 127.0.0.1:<port> in /proc/net/tcp
    listening = [line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                 if line.split()[3] == "0A"]
    assert local in listening, (local, listening)
    others = [a for a in listening if a.endswith(f":{served.port:04X}") and a != local]
    assert others == [], others
    banner = [line for line in served.out if line.startswith("serving ")]
    assert f"http://127.0.0.1:{served.port}/index.html" in banner[0], served.out


def serving_with(project: Path, port: int, preamble: str, when_serving: str) -> subprocess.Popen:
    """serve in a script that runs ``preamble`` first, then ``when_serving`` (statements)
    at the very moment its output says 'serving ...'."""
    script = (
        f"import sys\n{preamble}"
        "from dossier.cli import main\n"
        "class Out:\n"
        "    def write(self, text):\n"
        "        if text.startswith('serving '):\n"
        f"{textwrap.indent(when_serving, ' ' * 12)}"
        "        sys.stdout.write(text)\n"
        "        sys.stdout.flush()\n"
        "    def flush(self):\n"
        "        sys.stdout.flush()\n"
        f"main(['serve', '--root', {str(project)!r}, '--port', '{port}'], out=Out())\n")
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_the_address_answers_as_soon_as_it_is_announced(project):
    """'serving ... at URL' is said once the server listens: a browser sent there at
    once is answered (checked at the very moment the line is written)."""
    port = free_port()
    proc = serving_with(project, port, "import socket\n", (
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), 2).close()\n"
        "    print('answered', file=sys.stderr, flush=True)\n"
        "except OSError as error:\n"
        "    print('refused', error, file=sys.stderr, flush=True)\n"))
    line = "(the server said nothing)"
    try:
        for line in proc.stderr:
            if line.startswith(("answered", "refused")):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    assert line.startswith("answered"), line


def test_save_rebuilds_reloads_and_reports(served, project):
    messages = reloads(served, lambda: edit(project, EVENT, "announced the break", "announced the rupture"))
    assert [m["command"] for m in messages] == ["reload"]
    assert "announced the rupture" in served.get("events/2025-11-03-break.html")[1]
    report = [line for line in served.out if line.startswith("rebuilt in")][-1]
    assert "events/2025-11-03-break.html" in report and " ms: " in report


def test_error_overlay_then_recovery(served, project):
    good = (project / EVENT).read_text("utf-8")
    messages = reloads(served, lambda: edit(project, EVENT, "speaker: ruritania-government",
                                            "speaker: <ruritania>"))
    assert [m["command"] for m in messages] == ["reload"]
    for page in ("index.html", "events/2025-11-03-break.html", "people/ana-lopez.html"):
        status, body = served.get(page)
        assert status == 200
        assert 'id="dossier-build-errors"' in body
        assert "content/events/2025-11-03-break.md:12: quotes[0].speaker: must be a slug like" in body
        assert "&#x27;&lt;ruritania&gt;&#x27;" in body and "<ruritania>" not in body
    assert "Relations broken" in served.get("events/2025-11-03-break.html")[1]  # last good page
    assert any("quotes[0].speaker" in line for line in served.err)
    messages = reloads(served, lambda: (project / EVENT).write_text(good, "utf-8"))
    assert [m["command"] for m in messages] == ["reload"]
    assert "dossier-build-errors" not in served.get("index.html")[1]
    assert served.proc.poll() is None


@pytest.mark.parametrize("breakage, expected", [
    ("yaml", "content/people/ana-lopez.yaml:4: invalid YAML"),
    ("reference", "unknown person or organization &#x27;ana-lopez&#x27;"),
    ("template", "templates/event.html:3: template error"),
])
def test_no_error_stops_the_server(project, breakage, expected):
    shutil.copytree(REPO / "templates", project / "templates")
    shutil.copytree(REPO / "assets", project / "assets")
    served = Served(project)
    try:
        if breakage == "yaml":
            edit(project, "content/people/ana-lopez.yaml", "country: Ruritania",
                 "country: [Ruritania")
        elif breakage == "reference":
            (project / "content/people/ana-lopez.yaml").unlink()
        else:
            (project / "templates/event.html").write_text(
                "{% extends 'base.html' %}\n{% block main %}\n{{ broken }\n{% endblock %}\n")
        served.wait_for(lambda: expected in served.get("index.html")[1])
        assert served.proc.poll() is None
    finally:
        assert served.stop() == 0


def test_burst_of_saves_gives_one_rebuild_and_last_save_wins(served, project):
    before = served.rebuilds()
    path = project / EVENT
    text = path.read_text("utf-8")

    def burst():
        for n in range(12):
            path.write_text(text.replace("announced the break", f"announced version {n}"), "utf-8")
            for other in (project / "content/events").glob("20*.md"):
                other.touch()

    messages = reloads(served, burst)
    assert [m["command"] for m in messages] == ["reload"]
    assert served.rebuilds() == before + 1
    assert "announced version 11" in served.get("events/2025-11-03-break.html")[1]


def test_save_during_a_rebuild_is_not_lost(served, project):
    path = project / EVENT
    text = path.read_text("utf-8")
    for n in range(6):  # saves spaced around the debounce and build time
        path.write_text(text.replace("announced the break", f"announced edit {n}"), "utf-8")
        time.sleep(0.03 * n)
    served.wait_for(lambda: "announced edit 5" in served.get("events/2025-11-03-break.html")[1])


def test_deleted_and_renamed_files_remove_stale_pages(served, project):
    old = project / "content/events/2025-11-year-background.md"
    old.rename(project / "content/events/2025-talks.md")
    # builds run beside the server: the new page is written before the stale one goes
    served.wait_for(lambda: served.get("events/2025-talks.html")[0] == 200
                    and served.get("events/2025-11-year-background.html")[0] == 404)
    assert not (project / "site/events/2025-11-year-background.html").exists()


def test_ctrl_c_stops_cleanly(project):
    server = Served(project)
    assert server.stop() == 0
    server.wait_for(lambda: "stopped" in server.out)


def test_ctrl_c_stops_even_when_it_lands_in_a_finalizer(project):
    """A Ctrl-C that Python handles inside a ``__del__`` (or a weakref callback, as the
    cycle collector runs them) still stops the server. Raised there as KeyboardInterrupt,
    it was printed as "Exception ignored" and dropped, and serve went on serving (seen in
    CI). The finalizer here signals the process itself and then runs on, so that the
    signal is handled inside it."""
    proc = serving_with(project, free_port(), (
        "import os, signal\n"
        "from tornado import ioloop\n"
        "class Finalized:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        for _ in range(200000):\n"
        "            pass\n"
        "def drop():\n"
        "    Finalized()\n"), "ioloop.IOLoop.current().call_later(0.3, drop)\n")
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"serve went on after the Ctrl-C; stderr={err[-600:]}") from None
    assert proc.returncode == 0, err
    assert out.splitlines()[-1] == "stopped", out
    assert "Exception ignored" not in err, err


@pytest.mark.parametrize("kind", ["Inotify", "Snapshots"])
def test_watchers_see_every_kind_of_change(tmp_path, kind):
    """Both ways of watching (inotify on Linux, walking elsewhere) report a write, a
    touch, a new file, a file in a new folder, a rename and a deletion, and nothing when
    nothing happened or only the output folder changed."""
    from dossier import serve
    content, out = tmp_path / "content", tmp_path / "content/site"
    (content / "events").mkdir(parents=True)
    out.mkdir()
    event = content / "events/a.md"
    event.write_text("one")
    watch = getattr(serve, kind)([content], out)
    assert not watch.changed()
    steps = [lambda: event.write_text("two"), lambda: os.utime(event, ns=(1, 1)),
             lambda: (content / "events/b.md").write_text("new"),
             lambda: ((content / "people").mkdir(), (content / "people/p.yaml").write_text("x")),
             lambda: (content / "people/p.yaml").write_text("name: P"),
             lambda: event.rename(content / "events/c.md"),
             lambda: (content / "events/b.md").unlink()]
    for step in steps:
        step()
        assert watch.changed(), step
        assert not watch.changed()
    (out / "index.html").write_text("built")
    assert not watch.changed()


def test_inotify_knows_when_a_save_is_whole(tmp_path):
    """A file written but not yet closed is a save in progress; closing it settles it.
    Walking cannot tell the two apart, so it never claims a save is whole."""
    from dossier import serve
    content = tmp_path / "content"
    (content / "events").mkdir(parents=True)
    event = content / "events/a.md"
    event.write_text("one")
    watch = serve.Inotify([content], tmp_path / "site")
    assert not watch.changed() and watch.settled()
    with open(event, "w") as handle:
        handle.write("half")
        handle.flush()
        assert watch.changed()
        assert not watch.settled()
    assert watch.changed()
    assert watch.settled()
    with open(content / "events/b.md", "w") as handle:   # deleted while still open
        handle.write("x")
        handle.flush()
        watch.changed()
        (content / "events/b.md").unlink()
    watch.changed()
    assert watch.settled()
    assert not serve.Snapshots([content], tmp_path / "site").settled()


class _Changes:
    """A watcher driven by the test."""

    def __init__(self, sees_writes: bool):
        self.sees_writes, self.pending, self.whole = sees_writes, False, True

    def changed(self) -> bool:
        pending, self.pending = self.pending, False
        return pending

    def settled(self) -> bool:
        return self.whole


@pytest.mark.parametrize("sees_writes, whole, waits", [
    (True, True, "SETTLED_QUIET_SECONDS"),    # inotify saw the file closed: build at once
    (True, False, "OPEN_WRITE_SECONDS"),      # still open for writing: hold back, not for ever
    (False, False, "QUIET_SECONDS"),          # walking: wait until the files are still
])
def test_rebuild_waits_as_long_as_the_watcher_needs(monkeypatch, sees_writes, whole, waits):
    from dossier import serve
    clock = [100.0]
    monkeypatch.setattr(serve.time, "monotonic", lambda: clock[0])
    site = object.__new__(serve.DevSite)
    site.changes, site.changed_at, site.first_change_at = _Changes(sees_writes), None, None
    site.worker, site.dirty = None, False
    built = []
    site.rebuild = lambda: built.append(clock[0])
    site.changes.pending, site.changes.whole = True, whole
    site.poll()
    step = 0.001
    while not built and clock[0] < 102:
        clock[0] += step
        site.poll()
    assert built, "never rebuilt"
    waited = built[0] - 100.0
    assert getattr(serve, waits) <= waited < getattr(serve, waits) + 2 * step
    site.poll()
    assert len(built) == 1                    # one save, one rebuild


@pytest.mark.parametrize("changed, told", [
    (["assets/style.css"], "assets/style.css"),                       # swapped in place
    (["events/a.html", "dossier.html", "dossier.json"],
     'dossier-pages:["events/a.html", "dossier.html"]'),               # downloads reload nothing
    (["events/a.html", "assets/search-index.js"],
     'dossier-pages:["events/a.html", "search.html"]'),
    (["index.html", "assets/dossier.js"], "*"),                       # every page loads it
    ([f"events/{n}.html" for n in range(201)], "*"),                  # a template edit
])
def test_browsers_are_told_which_pages_changed(changed, told):
    from dossier.serve import reload_path
    assert reload_path(changed) == told


def test_a_save_reloads_only_the_tabs_whose_page_changed(served, project, browser):
    """Real Chromium, three tabs: the edited event's page and the single-file edition
    reload; Who's who, which does not show the event's body, stays as it was."""
    tabs = {}
    for path in ("events/2025-11-03-break.html", "dossier.html", "people.html"):
        tab = browser.new_page()
        tab.goto(f"http://127.0.0.1:{served.port}/{path}")
        tab.wait_for_function("() => window.LiveReload && window.LiveReload.pluginIdentifiers"
                              " && window.LiveReload.pluginIdentifiers.dossier")
        tabs[path] = tab
    time.sleep(0.5)                                  # livereload.js connects its socket
    for tab in tabs.values():
        tab.evaluate("() => { window.__before = true; }")
    edit(project, EVENT, "announced the break", "announced the rupture")
    for path in ("events/2025-11-03-break.html", "dossier.html"):
        tabs[path].wait_for_function("() => document.body.innerText.includes('announced the rupture')",
                                     timeout=10000)
        assert tabs[path].evaluate("() => window.__before") is None
    time.sleep(1)
    assert tabs["people.html"].evaluate("() => window.__before") is True
    for tab in tabs.values():
        tab.close()


@pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")
def test_a_watcher_freed_closes_its_inotify_instance(tmp_path):
    """Each serve watcher holds an inotify instance (a user has 128 here): once the
    watcher is freed, so is the instance (a process that made many kept them all)."""
    import gc
    from dossier import serve

    def inotify(fd: int) -> bool:
        try:
            return "inotify" in os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return False
    (tmp_path / "content").mkdir()
    watcher = serve.Inotify([tmp_path / "content"], tmp_path / "site")
    fd = watcher.fd
    assert inotify(fd)
    del watcher
    gc.collect()
    assert not inotify(fd)
