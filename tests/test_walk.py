"""The walk of a build's inputs, on the other core while the cache loads (dossier.walk)."""

import os

from conftest import run_cli, snapshot
from generate import generate

from dossier import cache, load, pipeline, walk


def _stats(now: dict) -> dict:
    return {path: (st.st_size, st.st_mtime_ns) for path, st in now.items()}


def test_the_walk_a_child_takes_is_the_walk_taken_here(tmp_path):
    """On two cores a child walks: the fingerprint, every file's size and modification
    time, and content/'s listing it sends are what walking and listing here give."""
    generate(tmp_path, 40)
    content = tmp_path / "content"
    folders = [content, tmp_path / "no-such-folder"]
    here = walk.Walk(folders, "extra", content, 1)
    assert here.worker is None
    fingerprint, now, listed = here.result()
    assert listed is None and fingerprint == cache.stat_fingerprint(folders, "extra")
    assert walk.Walk(folders, "extra", content, 1).unchanged_since(fingerprint) is True
    assert walk.Walk(folders, "other", content, 1).unchanged_since(fingerprint) is False
    there = walk.Walk(folders, "extra", content, 2)
    assert there.worker is not None
    assert there.unchanged_since(fingerprint) in (True, None)
    found = there.result()
    assert there.unchanged_since(fingerprint) is True and there.worker is None
    assert found[0] == fingerprint and _stats(found[1]) == _stats(now)
    assert found[2] == load.content_entries(content)
    other = walk.Walk(folders, "other", content, 2)
    try:
        assert other.result()[0] != fingerprint and other.unchanged_since(fingerprint) is False
    finally:
        other.close()


def test_a_child_that_fails_leaves_the_walk_to_be_taken_here(tmp_path, monkeypatch):
    """A child that fails before it sends anything, or after sending the fingerprint
    alone, leaves the walk to the parent, which gets exactly what it would have walked."""
    generate(tmp_path, 20)
    content = tmp_path / "content"
    now: dict = {}
    expected = (cache.stat_fingerprint([content], "x", now), now)
    parent = os.getpid()
    real_fingerprint, real_entries = walk.stat_fingerprint, walk.content_entries

    def failing(real):
        def run(*args):
            if os.getpid() != parent:
                raise RuntimeError("broken in the child")
            return real(*args)
        return run
    for name, real in (("stat_fingerprint", real_fingerprint),
                       ("content_entries", real_entries)):
        monkeypatch.setattr(walk, name, failing(real))
        found = walk.Walk([content], "x", content, 2).result()
        assert found[0] == expected[0] and _stats(found[1]) == _stats(expected[1])
        assert found[2] is None                     # the load lists content/ itself
        asking = walk.Walk([content], "x", content, 2)
        while (verdict := asking.unchanged_since(expected[0])) is None:
            pass
        assert verdict is True
        monkeypatch.setattr(walk, name, real)


def test_loading_the_cache_stops_when_told(tmp_path):
    """load_cache asks ``stop`` before each file it reads and returns None once told to;
    never told, it loads the cache whole."""
    generate(tmp_path, 30)
    assert run_cli("--root", tmp_path).code == 0
    folder = tmp_path / ".dossier-cache"
    asked = []

    def stop_at(n):
        def stop() -> bool:
            asked.append(1)
            return len(asked) >= n
        return stop
    assert cache.load_cache(folder, stop_at(3)) is None and len(asked) == 3
    asked.clear()
    whole = cache.load_cache(folder, stop_at(10 ** 6))
    assert len(asked) == cache.SHARDS["parsed"] + 1
    plain = cache.load_cache(folder)
    assert whole.parsed == plain.parsed and whole.state == plain.state
    assert whole.fragments == plain.fragments


def test_on_two_cores_an_edit_lists_content_in_the_child_and_a_noop_is_still_one(
        tmp_path, monkeypatch):
    """An edit on two cores of a site of WALK_AHEAD_MIN files or more takes content/'s
    listing from the walk's child (the parent never lists it; below, the parent walks
    and lists) and is byte for byte a clean build; a build with nothing changed after it
    writes nothing."""
    generate(tmp_path, 320)                               # (420 files)
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    parent, listed = os.getpid(), []
    real = load.content_entries

    def listing(*args):
        if os.getpid() == parent:
            listed.append(1)
        return real(*args)
    monkeypatch.setattr(load, "content_entries", listing)
    event = sorted((tmp_path / "content/events").glob("*.md"))[50]

    def edited() -> int:
        event.write_text(event.read_text("utf-8").replace("\n---\n", "\n---\nNew.\n\n", 1),
                         "utf-8")
        listed.clear()
        return run_cli("--root", tmp_path, "--jobs", "2").code
    assert edited() == 0 and listed == [1]
    monkeypatch.setattr(pipeline, "WALK_AHEAD_MIN", 100)
    assert edited() == 0 and listed == []
    noop = run_cli("--root", tmp_path, "--jobs", "2")
    assert noop.code == 0 and "0 files written" in noop.out
    clean = run_cli("--root", tmp_path, "--out", tmp_path / "clean", "--no-cache", "--jobs", "1")
    assert clean.code == 0 and snapshot(tmp_path / "clean") == snapshot(tmp_path / "site")
