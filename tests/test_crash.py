"""No data loss: a build killed mid-write, or a full disk, leaves the previous site whole."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, drop_pages, run_cli, snapshot
from sitecheck import broken_links

from generate import generate  # benchmarks/ (on the path: conftest)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("crash")
    generate(root, 200)
    return root


def start_build(root: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "build.py"), "--root", str(root), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def retitle(root: Path, title: str) -> None:
    path = root / "content/dossier.yaml"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    path.write_text(f"title: {title}\n" + "".join(lines[1:]), "utf-8")


@pytest.mark.parametrize("delay", [0.3, 0.9, 1.5])
def test_clean_build_killed_leaves_previous_site_exactly(corpus, tmp_path, delay):
    retitle(corpus, "Before")
    assert run_cli("--root", corpus, "--no-cache").code == 0
    before = snapshot(corpus / "site")
    retitle(corpus, f"After {delay}")
    proc = start_build(corpus, "--no-cache")
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = snapshot(corpus / "site")
    assert after == before or b"After" in after["index.html"]  # old site, or the finished new one
    assert run_cli("--root", corpus, "--no-cache").code == 0
    assert not list(corpus.glob(".site.tmp-*"))


@pytest.mark.parametrize("delay", [0.4, 1.0])
def test_incremental_update_killed_stays_usable_and_is_repaired(corpus, tmp_path, delay):
    retitle(corpus, "Before")
    assert run_cli("--root", corpus).code == 0
    retitle(corpus, f"During {delay}")
    proc = start_build(corpus)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    site = corpus / "site"
    assert (site / "index.html").is_file()
    assert broken_links(site) == []  # every link still leads to a file
    assert run_cli("--root", corpus).code == 0
    assert not list(corpus.glob(".site.tmp-*"))      # nor the spool of the killed update
    assert run_cli("--root", corpus, "--out", tmp_path / "clean", "--no-cache").code == 0
    assert snapshot(site) == snapshot(tmp_path / "clean")


def _fill_disk_after(monkeypatch, writes: int) -> None:
    calls = {"n": 0}
    real = Path.write_bytes

    def full(self, data):
        calls["n"] += 1
        if calls["n"] > writes:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)


def _rename(project: Path) -> None:
    path = project / "content/people/ana-lopez.yaml"
    path.write_text(path.read_text().replace("Ana López", "Ana L."))


def test_disk_full_during_a_clean_build_leaves_site_untouched(project, monkeypatch):
    assert run_cli("--root", project).code == 0
    before = snapshot(project / "site")
    _rename(project)
    _fill_disk_after(monkeypatch, 3)
    result = run_cli("--root", project, "--no-cache")
    monkeypatch.undo()
    assert result.code == 1 and "Traceback" not in result.err
    assert "No space left on device" in result.err and "previous site was left as it was" in result.err
    assert snapshot(project / "site") == before
    assert not list(project.glob(".site.tmp-*"))


def test_disk_full_during_an_update_is_repaired_by_the_next_build(project, monkeypatch, tmp_path):
    assert run_cli("--root", project).code == 0
    _rename(project)
    _fill_disk_after(monkeypatch, 2)
    result = run_cli("--root", project)
    monkeypatch.undo()
    assert result.code == 1 and "next build will rebuild it completely" in result.err
    assert broken_links(project / "site") == []
    assert run_cli("--root", project).code == 0
    assert run_cli("--root", project, "--out", tmp_path / "clean", "--no-cache").code == 0
    assert snapshot(project / "site") == snapshot(tmp_path / "clean")
    assert "Ana L." in (project / "site/people/ana-lopez.html").read_text()


def ctrl_c_stops() -> None:
    """In the child: Ctrl-C as at a terminal, even where the tests run with SIGINT ignored
    (a command started in the background by a script inherits that, and Python then
    leaves it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_both_processes_and_says_so(tmp_path):
    """Ctrl-C (SIGINT to the process group, as a terminal sends it) while the two processes
    validate or render: exit status 130, one line instead of a traceback, the previous site
    exactly as it was, no staging folder, and no worker left running."""
    generate(tmp_path, 600)
    assert run_cli("--root", tmp_path, "--no-cache").code == 0
    before = snapshot(tmp_path / "site")
    retitle(tmp_path, "After")
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "--root", str(tmp_path),
                             "--no-cache", "--jobs", "2"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=ctrl_c_stops)
    started = time.monotonic()
    while len(list(tmp_path.glob(".site.tmp-*/events/*.html"))) < 20 and \
            time.monotonic() - started < 60:              # pages are being written (a
        time.sleep(0.005)                                 # SIGINT during fork() is lost)
    assert proc.poll() is None, "the build ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "build interrupted" in err and "Traceback" not in err
    assert snapshot(tmp_path / "site") == before
    assert not list(tmp_path.glob(".site.tmp-*"))
    time.sleep(0.2)
    leftover = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
    assert leftover.stdout == "", "a worker process outlived the build"


@pytest.mark.parametrize("stage", ["validating", "rendering"])
def test_a_worker_dies_with_its_build(tmp_path, stage):
    """A build killed outright (SIGKILL to the parent alone) leaves no worker behind,
    whether it was validating content or rendering pages into the staging folder."""
    generate(tmp_path, 1500)
    proc = subprocess.Popen([sys.executable, str(REPO / "build.py"), "--root", str(tmp_path),
                             "--no-cache", "--jobs", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    started = time.monotonic()
    def session() -> list[str]:
        found = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
        return found.stdout.split()
    def seen() -> bool:                  # the staging folder exists a moment before the
        if stage == "rendering" and not list(tmp_path.glob(".site.tmp-*")):
            return False                 # render worker is forked (seen once in CI)
        return len(session()) >= 2
    while time.monotonic() - started < 60 and not seen():
        time.sleep(0.005)
    assert proc.poll() is None and len(session()) == 2, "no worker to see"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while session() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert session() == [], "a worker outlived its build"


def test_a_build_killed_while_deleting_the_old_site_leaves_a_recognisable_leftover(
        project, monkeypatch):
    """After the swap the previous site is deleted; a build killed during that deletion
    leaves a folder that still carries its marker, so the next build removes it."""
    from dossier import write
    assert run_cli("--root", project, "--out", project / "site").code == 0
    assert run_cli("--root", project, "--out", project / "site", "--no-cache").code == 0
    unlinked = []
    real_unlink = write.os.unlink
    files = sum(1 for path in (project / "site").rglob("*") if path.is_file())

    def dies_before_the_last(path, *args, **kwargs):
        if len(unlinked) == files - 1:
            raise KeyboardInterrupt              # as if killed with one file left
        unlinked.append(path)
        return real_unlink(path, *args, **kwargs)
    monkeypatch.setattr(write.os, "unlink", dies_before_the_last)
    assert run_cli("--root", project, "--out", project / "site", "--no-cache").code == 130
    monkeypatch.undo()
    leftovers = list(project.glob(".site.tmp-*"))
    assert leftovers and all((folder / write.MARKER).is_file() for folder in leftovers)
    assert run_cli("--root", project, "--out", project / "site", "--no-cache").code == 0
    assert not list(project.glob(".site.tmp-*"))


def test_a_large_replaced_site_is_kept_as_the_spare_and_written_over_next_time(
        project, monkeypatch, tmp_path):
    """From SPARE_MIN files up, a clean build keeps the site it replaces beside the new
    one (the spare, with its marker), and the next clean build writes into it: the same
    files (inodes) get the new bytes, files the new site lacks are removed, and the
    result is exactly a fresh build's."""
    from dossier import write
    monkeypatch.setattr(write, "SPARE_MIN", 1)
    site, spare = project / "site", write.spare_path(project / "site")
    assert run_cli("--root", project).code == 0
    assert not spare.exists()
    first = {path.relative_to(site): path.stat().st_ino for path in site.rglob("*.html")}
    assert run_cli("--root", project, "--no-cache").code == 0
    assert (spare / write.MARKER).is_file()
    assert {path.relative_to(spare): path.stat().st_ino for path in spare.rglob("*.html")} \
        == first                                  # the replaced site, as it was
    (spare / "events/stray.html").write_text("left over")
    (spare / "stray-folder").mkdir()
    (spare / "stray-folder/x.txt").write_text("left over")
    _rename(project)                              # new bytes for some pages
    assert run_cli("--root", project, "--no-cache").code == 0
    now = {path.relative_to(site): path.stat().st_ino for path in site.rglob("*.html")}
    assert now == first                           # written over, not created anew
    assert "Ana L." in (site / "people/ana-lopez.html").read_text("utf-8")
    assert not (site / "events/stray.html").exists() and not (site / "stray-folder").exists()
    assert run_cli("--root", project, "--out", tmp_path / "fresh", "--no-cache").code == 0
    assert snapshot(site) == snapshot(tmp_path / "fresh")
    assert not list(project.glob(".site.tmp-*"))


def test_a_file_written_over_is_not_read_back_when_its_pages_are_gone(tmp_path):
    """write.forget_contents: a file whose pages are no longer in memory gets its blocks
    zeroed in place (so that writing over it reads nothing from disk); one whose pages are
    in memory is left as it is (nothing to read)."""
    from dossier import write
    if write._page_calls() is None:
        pytest.skip("no cachestat here (Linux 6.5+, x86-64 or arm64)")
    gone, kept = tmp_path / "gone.html", tmp_path / "kept.html"
    for path in (gone, kept):
        path.write_bytes(b"old bytes " * 1000)
    drop_pages(gone, sure=True)
    for path in (gone, kept):
        descriptor = os.open(path, os.O_WRONLY)
        try:
            write.forget_contents(descriptor)
        finally:
            os.close(descriptor)
    assert gone.read_bytes() == bytes(10000)
    assert kept.read_bytes() == b"old bytes " * 1000


def test_a_spare_whose_pages_are_gone_is_written_over_into_a_fresh_build(
        project, monkeypatch, tmp_path):
    """Written over once its pages are dropped (their blocks zeroed first, where the
    system can), the spare becomes exactly a fresh build, its files shorter or longer."""
    from dossier import write
    monkeypatch.setattr(write, "SPARE_MIN", 1)
    assert run_cli("--root", project).code == 0
    assert run_cli("--root", project, "--no-cache").code == 0
    spare = write.spare_path(project / "site")
    (spare / "index.html").write_bytes(b"x" * 100_000)   # longer than the new one
    (spare / "timeline.html").write_bytes(b"x")          # shorter
    drop_pages(spare)
    _rename(project)
    assert run_cli("--root", project, "--no-cache").code == 0
    assert run_cli("--root", project, "--out", tmp_path / "fresh", "--no-cache").code == 0
    assert snapshot(project / "site") == snapshot(tmp_path / "fresh")


def _read_from_disk() -> int:
    """Bytes this process has had read from storage (not from memory) so far."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    raise AssertionError("no read_bytes in /proc/self/io")


def test_writing_over_a_spare_whose_pages_are_gone_reads_none_of_it(real, monkeypatch):
    """A page written over a spare's file is padded with zeros to a whole memory page and
    then cut to length: no write covers part of a page the kernel would first read back
    from disk. Checked by the bytes this process reads from storage while a clean build
    writes over a spare whose pages were all dropped."""
    from dossier import write
    monkeypatch.setattr(write, "SPARE_MIN", 1)
    assert run_cli("--root", real).code == 0
    assert run_cli("--root", real, "--no-cache").code == 0
    spare = write.spare_path(real / "site")
    pages = [path for path in spare.rglob("*.html")]
    assert len(pages) > 50
    drop_pages(spare, sure=True)
    before = _read_from_disk()
    assert run_cli("--root", real, "--no-cache").code == 0
    assert _read_from_disk() - before < 4096 * 8        # not a page per file


def test_a_failed_build_into_the_spare_leaves_the_site_and_keeps_the_spare(
        project, monkeypatch):
    from dossier import write
    monkeypatch.setattr(write, "SPARE_MIN", 1)
    assert run_cli("--root", project).code == 0
    assert run_cli("--root", project, "--no-cache").code == 0
    before = snapshot(project / "site")
    _rename(project)
    _fill_disk_after(monkeypatch, 0)               # the marker cannot even be written
    result = run_cli("--root", project, "--no-cache")
    monkeypatch.undo()
    monkeypatch.setattr(write, "SPARE_MIN", 1)
    assert result.code == 1 and "No space left on device" in result.err
    assert snapshot(project / "site") == before
    assert (write.spare_path(project / "site") / write.MARKER).is_file()
    assert not list(project.glob(".site.tmp-*"))
    assert run_cli("--root", project, "--no-cache").code == 0
    assert "Ana L." in (project / "site/people/ana-lopez.html").read_text("utf-8")


def test_whatever_takes_a_page_s_place_in_the_spare_the_build_is_a_fresh_one(
        real, monkeypatch, tmp_path):
    """Pages are written over the spare's files in a few system calls (Staging.put); a
    page whose file is missing, a folder in a page's place, a file in a folder's place,
    a link in a page's place and one in a folder's are each dealt with the general way
    (nothing is written through a link), and the site is a fresh build's."""
    import shutil
    from dossier import write
    monkeypatch.setattr(write, "SPARE_MIN", 1)
    assert run_cli("--root", real).code == 0
    assert run_cli("--root", real, "--no-cache").code == 0
    spare = write.spare_path(real / "site")
    events = sorted((spare / "events").glob("*.html"))
    events[0].unlink()                                      # missing
    events[1].unlink()
    (events[1] / "inside").mkdir(parents=True)              # a folder in its place
    shutil.rmtree(spare / "sources")
    (spare / "sources").write_text("a file where a folder was")
    events[2].unlink()
    events[2].symlink_to(tmp_path / "elsewhere.html")       # a link, to nothing
    outside = tmp_path / "outside"                          # a folder linked elsewhere
    shutil.move(spare / "people", outside)
    (spare / "people").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    assert run_cli("--root", real, "--no-cache").code == 0
    assert run_cli("--root", real, "--out", tmp_path / "fresh", "--no-cache").code == 0
    assert snapshot(real / "site") == snapshot(tmp_path / "fresh")
    assert not (tmp_path / "elsewhere.html").exists()
    assert snapshot(outside) == before                      # never written through


def test_a_link_in_the_spare_is_replaced_never_written_through(project, monkeypatch, tmp_path):
    from dossier import write
    monkeypatch.setattr(write, "SPARE_MIN", 1)
    assert run_cli("--root", project).code == 0
    assert run_cli("--root", project, "--no-cache").code == 0
    spare = write.spare_path(project / "site")
    outside = tmp_path / "outside.html"
    outside.write_text("not the site's")
    (spare / "index.html").unlink()
    (spare / "index.html").symlink_to(outside)
    assert run_cli("--root", project, "--no-cache").code == 0
    assert outside.read_text() == "not the site's"
    assert not (project / "site/index.html").is_symlink()
    assert "<html" in (project / "site/index.html").read_text("utf-8")
