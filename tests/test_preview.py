"""Serve's preview: a save that changes only events' bodies writes those events' pages
first, with the bytes a full build makes, and the rebuild after it finishes the rest."""

from __future__ import annotations

import io
import shutil
import threading
import time
from pathlib import Path

import pytest

from conftest import REPO, run_cli, snapshot
from dossier import pipeline, serve
from dossier.cache import save_cache
from dossier.pipeline import compile_dossier
from dossier.preview import edited_bodies, preview, with_bodies
from dossier.project import Project
from dossier.write import read_build_id

EVENT = "content/events/2025-11-06-congress-declares-sheinbaum-persona-non-grata.md"
NEW_EVENT = """---
title: A new development
date: 2025-11-07
summary: Something new happens.
sources: [reuters]
---
A new event, mentioned nowhere else.
"""
PAGE = "events/2025-11-06-congress-declares-sheinbaum-persona-non-grata.html"


def append_to_body(path: Path, text: str) -> None:
    path.write_text(path.read_text("utf-8").rstrip("\n") + f"\n\n{text}\n", "utf-8")


def clean(root: Path, tmp_path: Path) -> dict[str, bytes]:
    out = tmp_path / "clean"
    shutil.rmtree(out, ignore_errors=True)
    assert run_cli("--root", root, "--out", out, "--no-cache").code == 0
    return snapshot(out)


class Dev:
    """An in-process DevSite whose watcher is polled by hand, recording what it tells
    browsers and the page's bytes at the moment the full rebuild starts."""

    def __init__(self, root: Path, background: bool = False):
        self.out, self.err, self.told = io.StringIO(), io.StringIO(), []
        self.site = serve.DevSite(Project.at(root), self.out, self.err, self.told.append,
                                  background)
        self.site.start()
        self.page_at_build: list[bytes] = []
        full = self.site._build
        page = root / "site" / PAGE

        def build() -> None:
            self.page_at_build.append(page.read_bytes())
            full()
        self.site._build = build

    def save(self, action) -> None:
        self.told.clear()
        action()
        deadline = time.monotonic() + 5
        while not self.site.changes.changed():
            assert time.monotonic() < deadline, "the watcher saw nothing"
            time.sleep(0.005)
        self.site.rebuild()
        self.site.finish()

    def lines(self, start: str) -> list[str]:
        return [line for line in self.out.getvalue().splitlines() if line.startswith(start)]


@pytest.fixture
def previews(monkeypatch):
    monkeypatch.setattr(serve, "PREVIEW_MIN_PAGES", 0)   # the real dossier is small


def test_patched_dossier_equals_a_linked_one_for_every_event(real):
    project = Project.at(real)
    before, _, _, _ = compile_dossier(project)
    paths = sorted((real / "content/events").glob("*.md"))
    for path in paths:
        append_to_body(path, f"Another paragraph for {path.stem}.")
    after, _, _, _ = compile_dossier(project)
    bodies = edited_bodies(project, before, {str(p) for p in paths})
    assert bodies is not None and set(bodies) == {p.stem for p in paths}
    assert with_bodies(before, bodies) == after
    assert with_bodies(before, {}) == before


@pytest.mark.parametrize("background", [False, True])
def test_a_body_edit_writes_its_page_before_the_rebuild(real, tmp_path, previews, background):
    dev = Dev(real, background)
    dev.save(lambda: append_to_body(real / EVENT, "A new paragraph."))
    expected = clean(real, tmp_path)
    assert dev.lines("previewed in") and PAGE in dev.lines("previewed in")[0]
    assert dev.page_at_build == [expected[PAGE]]          # written before the rebuild began
    assert snapshot(real / "site") == expected            # and the rebuild finished the rest
    rebuilt = dev.lines("rebuilt in")[-1]
    assert PAGE not in rebuilt and "dossier.html" in rebuilt   # not written twice
    assert dev.told[0] == f'dossier-pages:["{PAGE}"]'            # its tabs reload now,
    assert len(dev.told) == 2 and PAGE not in dev.told[1]           # and not a second time
    assert "dossier.html" in dev.told[1]
    assert not dev.site.busy()


@pytest.mark.parametrize("change", [
    "title", "new link", "forbidden link", "unknown link", "other file", "new file", "draft",
])
def test_other_edits_get_the_whole_rebuild(real, tmp_path, previews, change):
    dev = Dev(real)
    event = real / EVENT

    def act():
        text = event.read_text("utf-8")
        if change == "title":
            event.write_text(text.replace("title: ", "title: Edited, ", 1), "utf-8")
        elif change == "new link":
            append_to_body(event, "See [[betssy-chavez]] and [[reuters]].")
        elif change == "forbidden link":
            append_to_body(event, "[click](javascript:alert(1))")
        elif change == "unknown link":
            append_to_body(event, "See [[no-such-record]].")
        elif change == "other file":
            append_to_body(event, "A new paragraph.")
            person = next((real / "content/people").glob("*.yaml"))
            person.write_text(person.read_text("utf-8") + "\n", "utf-8")
        elif change == "new file":
            (real / "content/events/2025-11-30-new.md").write_text(NEW_EVENT, "utf-8")
        else:
            event.write_text(text.replace("\n---\n", "\ndraft: true\n---\n", 1), "utf-8")

    dev.save(act)
    assert dev.lines("previewed in") == []
    if change in ("forbidden link", "unknown link"):
        assert "build failed" in dev.err.getvalue()
    else:
        assert snapshot(real / "site") == clean(real, tmp_path)


def test_a_preview_the_rebuild_never_followed_is_not_trusted(real, tmp_path, previews):
    """Killed between the preview and the rebuild: the marker names the preview, which no
    saved cache names, so the next build starts from scratch and is still exact."""
    dev = Dev(real)
    kept_id = dev.site.cache.build_id
    append_to_body(real / EVENT, "A new paragraph.")
    done = preview(dev.site.project, dev.site.cache, dev.site.dossier, {str(real / EVENT)})
    assert done is not None and done.urls == (PAGE,)
    assert read_build_id(real / "site") == done.cache.build_id != kept_id
    (real / EVENT).write_text((REPO / EVENT).read_text("utf-8"), "utf-8")   # and undone
    assert run_cli("--root", real).code == 0
    assert snapshot(real / "site") == clean(real, tmp_path)


def test_small_dossiers_rebuild_without_a_preview(real, tmp_path):
    dev = Dev(real)
    dev.save(lambda: append_to_body(real / EVENT, "A new paragraph."))
    assert dev.lines("previewed in") == [] and len(dev.told) == 1 and PAGE in dev.told[0]
    assert snapshot(real / "site") == clean(real, tmp_path)


def test_serve_started_on_an_up_to_date_site_previews_the_first_save(real, tmp_path, previews):
    assert run_cli("--root", real).code == 0            # nothing left to do when serve starts
    dev = Dev(real, background=True)
    assert dev.lines("built in")[0].startswith("built in") and " 0 files written" in dev.lines("built in")[0]
    dev.site.finish()                                   # the dossier is linked meanwhile
    assert dev.site.dossier is not None and dev.told == []
    dev.save(lambda: append_to_body(real / EVENT, "A new paragraph."))
    assert PAGE in dev.lines("previewed in")[0]
    assert snapshot(real / "site") == clean(real, tmp_path)


OTHER = "content/events/2025-11-03-peru-breaks-relations.md"


def poll_until(site, condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        site.poll()
        time.sleep(0.005)


@pytest.mark.parametrize("second", ["body", "title"])
@pytest.mark.parametrize("then", ["serve on", "stop"])
def test_a_save_during_the_rebuild_after_a_preview(real, tmp_path, previews, monkeypatch,
                                                   second, then):
    """The rebuild after a preview runs in the background; here it is held once it has
    read the content. A second save that changes only a body is previewed at once,
    relative to the first; any other save waits. Serving on, the next build brings the
    site to a clean build's bytes. Stopped before that build (Ctrl-C saves the cache),
    the saved state still cannot hide a stale page, even once the second save is undone."""
    dev = Dev(real, background=True)
    site = dev.site
    gate = threading.Event()
    real_plan = pipeline.fixed_pages                       # called once the content is read
    monkeypatch.setattr(pipeline, "fixed_pages",
                        lambda *a, **k: (gate.wait(20), real_plan(*a, **k))[1])
    append_to_body(real / EVENT, "A first new paragraph.")
    poll_until(site, lambda: dev.lines("previewed in"))
    assert site.busy()                                     # held at the gate
    other = real / OTHER
    original = other.read_text("utf-8")
    if second == "body":
        append_to_body(other, "A second new paragraph.")
    else:
        other.write_text(original.replace("title: ", "title: Retitled, ", 1), "utf-8")
    other_page = real / "site" / f"events/{other.stem}.html"
    before = other_page.read_bytes()
    poll_until(site, lambda: site.dirty)
    written_ahead = other_page.read_bytes()
    gate.set()
    if then == "stop":
        site.finish()
        assert site.dirty                                  # its build never ran
        save_cache(site.project.cache, site.cache)
        other.write_text(original, "utf-8")
        assert run_cli("--root", real).code == 0
        assert snapshot(real / "site") == clean(real, tmp_path)
        return
    poll_until(site, lambda: not site.busy() and not site.dirty
               and len(dev.lines("rebuilt in")) >= 2)
    site.finish()
    expected = clean(real, tmp_path)
    assert snapshot(real / "site") == expected
    if second == "body":
        assert written_ahead == expected[f"events/{other.stem}.html"] != before
        assert f"events/{other.stem}.html" in dev.lines("previewed in")[1]
        assert f'dossier-pages:["events/{other.stem}.html"]' in dev.told
    else:
        assert written_ahead == before and len(dev.lines("previewed in")) == 1
