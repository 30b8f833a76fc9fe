"""An incremental build is byte-for-byte a clean build, after every kind of edit."""

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, build, run_cli, snapshot


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


EV = "content/events/2025-11-06-congress-declares-sheinbaum-persona-non-grata.md"
NEW_EVENT = """---
title: A new development
date: 2025-11-05
summary: "[[hugo-de-zela]] says something new."
participants: [hugo-de-zela, {ref: karla-ornela, role: target}]
sources: [reuters]
quotes:
  - speaker: karla-ornela
    text: "A new quote."
    said: 2025-11-05
    source: reuters
---
[[betssy-chavez]] is mentioned here.
"""

EDITS = {
    "event body": lambda r: replace_in(r / EV, "Three days after the break", "Soon after the break"),
    "event title": lambda r: replace_in(r / EV, "title: Peru's Congress declares", "title: Congress declares"),
    "event date moves it in the timeline": lambda r: replace_in(r / EV, "date: 2025-11-06", "date: 2025-11-02"),
    "participant added": lambda r: replace_in(
        r / EV, "  - {ref: betssy-chavez, role: mentioned}",
        "  - {ref: betssy-chavez, role: mentioned}\n  - {ref: jorge-glas, role: mentioned}"),
    "participant's role changed": lambda r: replace_in(
        r / EV, "  - {ref: betssy-chavez, role: mentioned}", "  - {ref: betssy-chavez, role: target}"),
    "quote edited": lambda r: replace_in(r / EV, 'occasion: after the vote in Congress', 'occasion: after the vote'),
    "wikilink added": lambda r: replace_in(r / EV, "persona non grata: 63", "persona non grata ([[pacific-alliance]]): 63"),
    "profile": lambda r: replace_in(r / "content/people/hugo-de-zela.yaml", "name: Hugo de Zela", "name: Hugo de Zela Martínez"),
    "profile renamed, sorted elsewhere": lambda r: replace_in(r / "content/people/hugo-de-zela.yaml", "name: Hugo de Zela", "name: Aaron Hugo de Zela"),
    "position": lambda r: replace_in(r / "content/people/karla-ornela.yaml", "in_office: 2025-11", "start: 2025-01"),
    "organization": lambda r: replace_in(r / "content/organizations/morena.yaml", "name: MORENA", "name: Morena"),
    "source": lambda r: replace_in(r / "content/sources/reuters.yaml", "name: Reuters", "name: Reuters news agency"),
    "dossier.yaml": lambda r: replace_in(r / "content/dossier.yaml", "title: Peru–Mexico rupture", "title: The Peru–Mexico rupture"),
    "template": lambda r: replace_in(r / "templates/event.html", "<h2 id=\"sources-h\">Sources</h2>", "<h2 id=\"sources-h\">Where this comes from</h2>"),
    "asset": lambda r: (r / "assets/style.css").write_text("body { color: red }\n"),
    "event body and stylesheet": lambda r: (EDITS["event body"](r), EDITS["asset"](r)),
    "file added": lambda r: (r / "content/events/2025-11-05-new.md").write_text(NEW_EVENT, "utf-8"),
    "file deleted": lambda r: (r / "content/events/2025-11-police-guard-mexican-embassy.md").unlink(),
    "file renamed": lambda r: (r / "content/events/2025-11-police-guard-mexican-embassy.md").rename(
        r / "content/events/2025-11-police-at-the-embassy.md"),
    "source deleted": lambda r: (_drop_rpp(r)),
    "profile deleted that others referenced": lambda r: (_drop_noblecilla(r)),
    "participant removed": lambda r: replace_in(r / EV, "  - {ref: fernando-rospigliosi, role: spokesperson}\n", ""),
    "quote's speaker changed": lambda r: replace_in(r / EV, "speaker: fernando-rospigliosi", "speaker: peru-congress"),
    "cited source swapped": lambda r: replace_in(r / EV, "  - source: ap\n", "  - source: rpp\n"),
    "wikilink removed": lambda r: replace_in(r / EV, "Mexican President\n[[claudia-sheinbaum]]", "Mexican President\nClaudia Sheinbaum"),
    "related event dropped": lambda r: replace_in(r / EV, ", 2024-sheinbaum-takes-office]", "]"),
    "organization's parent changed": lambda r: replace_in(
        r / "content/organizations/mexico-embassy-lima.yaml", "parent: mexico-foreign-ministry", "parent: mexico-government"),
}


def _drop_noblecilla(root: Path) -> None:
    """A person that an event lists and links to from its body and a discrepancy."""
    event = root / "content/events/2025-11-03-chavez-enters-mexican-embassy.md"
    replace_in(event, "  - {ref: raul-noblecilla, role: spokesperson}\n", "")
    for _ in range(2):
        replace_in(event, "[[raul-noblecilla]]", "Raúl Noblecilla")
    (root / "content/people/raul-noblecilla.yaml").unlink()


def _drop_rpp(root: Path) -> None:
    replace_in(root / "content/events/2025-11-03-chavez-enters-mexican-embassy.md",
               "  - source: rpp\n    note: interview with Chávez's lawyer, as reported by the second report\n", "")
    replace_in(root / "content/events/2025-11-03-chavez-enters-mexican-embassy.md",
               "sources: [report-rupture-bloomberg-reuters, rpp]", "sources: [report-rupture-bloomberg-reuters]")
    (root / "content/sources/rpp.yaml").unlink()


def clean_build(root: Path, out: Path) -> dict:
    result = run_cli("--root", root, "--out", out, "--no-cache")
    assert result.code == 0, result.err
    return snapshot(out)


def checked_index_signatures(monkeypatch) -> list:
    """Have the pipeline's index signatures, where an edit takes only the entries it can
    have touched (incremental.touched_entries), checked against all of them taken anew;
    returns the list of the touched sets seen."""
    from dossier import deps, pipeline
    seen = []

    def checked(dossier, kept=None, touched=frozenset()):
        made = deps.index_signatures(dossier, kept, touched)
        if kept is not None:
            seen.append(touched)
            assert made == deps.index_signatures(dossier)
        return made
    monkeypatch.setattr(pipeline, "index_signatures", checked)
    return seen


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_incremental_equals_clean(real, tmp_path, edit, monkeypatch):
    assert build(real).code == 0
    checked_index_signatures(monkeypatch)
    EDITS[edit](real)
    result = build(real)
    assert result.code == 0, result.err
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_an_edit_takes_the_index_entries_of_what_its_records_name_before_and_after(
        real, tmp_path, monkeypatch):
    """An edited record can change the index entries of the slugs it names, before and
    after, and of the events that list it as related (a relation goes both ways): here
    one event lists two others, and the one that lists nothing moves past the other;
    only those entries are taken again, and they are what taking every entry gives."""
    protests = real / "content/events/2022-12-deadly-protests.md"
    replace_in(protests, "related: [2022-12-castillo-tries-to-dissolve-congress]",
               "related: [2022-12-castillo-tries-to-dissolve-congress, 2022-12-boluarte-succeeds-castillo]")
    assert build(real).code == 0
    seen = checked_index_signatures(monkeypatch)
    replace_in(real / "content/events/2022-12-boluarte-succeeds-castillo.md", "date: 2022-12",
               "date: 2023-01")
    assert build(real).code == 0
    (touched,) = seen
    assert {"2022-12-deadly-protests", "2022-12-castillo-tries-to-dissolve-congress",
            "dina-boluarte", "2022-12-boluarte-succeeds-castillo"} <= touched
    assert len(touched) < 12
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_an_edited_event_does_not_re_render_unrelated_events(real, monkeypatch):
    """A retitled event renders again its own page, its neighbours', those of the records
    it is listed on (its people, the home page) and the lists, never all events; an edit
    of its body alone renders again only what shows the body: its page and the
    single-file edition (and the data files' blocks that hold it)."""
    from dossier import pipeline, render
    from dossier.project import Project
    project = Project.at(real, jobs=1)
    first = pipeline.build(project)
    rendered, streamed = [], []

    def spying(original, into):
        def spy(env, dossier, spec, *rest):
            into.append(spec.url)
            return original(env, dossier, spec, *rest)
        return spy

    monkeypatch.setattr(render, "render_page", spying(render.render_page, rendered))
    monkeypatch.setattr(render, "stream_page", spying(render.stream_page, streamed))
    slug = "2025-11-06-congress-declares-sheinbaum-persona-non-grata"
    EDITS["event body"](real)
    pipeline.build(project)
    assert rendered == [f"events/{slug}.html"] and streamed == ["dossier.html"]
    rendered.clear()
    streamed.clear()
    EDITS["event title"](real)
    pipeline.build(project)
    d = first.dossier
    i = d.event_index[slug]
    neighbours = {d.events[i - 1].slug, d.events[i + 1].slug}
    linked = {e.slug for e in d.related_of.get(slug, ())} | {
        b.owner for b in d.mentions_of.get(slug, ())}
    allowed = {f"events/{s}.html" for s in {slug} | neighbours | linked}
    events = {u for u in rendered if u.startswith("events/")}
    assert f"events/{slug}.html" in events
    assert events <= allowed
    assert len(rendered) < len(d.events)
    for kind, target in (("person", "claudia-sheinbaum"), ("organization", "peru-congress")):
        assert f"{'people' if kind == 'person' else 'organizations'}/{target}.html" in rendered
    assert "index.html" in rendered
    # pages that list every record are written as they render, never held whole
    assert {"timeline.html", "quotes.html", "dossier.html"} <= set(streamed)
    assert not any(url.startswith("events/") for url in streamed)


def test_list_pages_and_data_files_re_render_only_the_edited_records_pieces(real, monkeypatch):
    """The timeline, the directories, dossier.html and the data files are written in
    blocks of records (deps.blocks): after an event's body changes, only the blocks
    holding a record that shows it are made again; the others are copied from the files
    the last build wrote, and the result is still a clean build's bytes (test above)."""
    from dossier import deps, pages, pipeline
    from dossier.project import Project
    monkeypatch.setattr(deps, "BLOCK", 3)                # several blocks in this dossier
    project = Project.at(real, jobs=1)
    first = pipeline.build(project)
    made = []                                            # (file, part, names of the block)
    real_blocks, real_pieces = pages.Here._blocks, deps.pieces

    def made_runs(where, items, made_items):
        for run, names in deps.blocks(items, deps.record_name):
            if any(item in made_items for item in run):
                made.append((*where, names))

    def spy_blocks(self, name, make, items, separator):   # blocks are made as written
        items, done = list(items), []
        yield from real_blocks(self, name, lambda item: done.append(item) or make(item),
                               items, separator)
        made_runs((self.page, name), items, done)

    def spy_pieces(dossier, fragments, url, part, items, make, separator=b""):
        items, done = list(items), []
        out = real_pieces(dossier, fragments, url, part, items,
                          lambda tracked, item: done.append(item) or make(tracked, item),
                          separator)
        made_runs((url, part), items, done)
        return out

    monkeypatch.setattr(pages.Here, "_blocks", spy_blocks)
    for module in ("search", "exports", "feeds"):
        monkeypatch.setattr(f"dossier.{module}.pieces", spy_pieces)
    EDITS["event body"](real)
    second = pipeline.build(project)
    slug = "2025-11-06-congress-declares-sheinbaum-persona-non-grata"
    event = first.dossier.entities[slug]
    # the event, its quotes, and the profiles and sources that list it (they count it)
    readers = {slug} | {q.id for q in event.quotes} | {p.ref.slug for p in event.participants} \
        | {c.source.slug for c in event.sources} | {q.source.source.slug for q in event.quotes} \
        | {e.slug for e in first.dossier.related_of.get(slug, ())}
    with_event = {(where, part) for where, part, names in made if slug in names}
    assert with_event == {("dossier.html", "event_section"), ("dossier.json", "events"),
                          ("assets/search-index.js", "events")}   # what shows its body
    assert all(readers & set(names) for _, _, names in made), made
    kept = len(second.cache.fragments)
    assert kept > 3 * len(made)                        # the rest were copied
    for lists_events in (("dossier.html", "event_section"), ("dossier.json", "events")):
        again = [name for *where, names in made if tuple(where) == lists_events
                 for name in names]
        assert slug in again and len(again) < len(first.dossier.events)


def test_noop_rebuild_writes_nothing(real):
    assert build(real).code == 0
    before = {p: p.stat().st_mtime_ns for p in (real / "site").rglob("*")}
    result = build(real)
    assert ", 0 pages rendered" in result.out and " 0 files written" in result.out
    assert {p: p.stat().st_mtime_ns for p in (real / "site").rglob("*")} == before


def test_broken_reference_then_fix_recovers(real, tmp_path):
    assert build(real).code == 0
    before = snapshot(real / "site")
    karla = real / "content/people/karla-ornela.yaml"
    saved = karla.read_text("utf-8")
    karla.unlink()
    result = build(real)
    assert result.code == 1 and "unknown person or organization 'karla-ornela'" in result.err
    assert snapshot(real / "site") == before
    karla.write_text(saved.replace("name: Karla Ornela", "name: Karla Ornela Soto"), "utf-8")
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_corrupt_cache_is_rebuilt_not_trusted(real, tmp_path):
    assert build(real).code == 0
    (real / ".dossier-cache/cache.pickle").write_bytes(b"not a pickle")
    EDITS["profile"](real)
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")
    shutil.rmtree(real / ".dossier-cache")
    assert build(real).code == 0


def test_corrupt_cache_shards_are_ignored_and_rewritten(real, tmp_path):
    assert build(real).code == 0
    shards = sorted((real / ".dossier-cache/records").glob("*.pickle"))
    assert len(shards) > 5
    for shard in shards[:3]:
        shard.write_bytes(b"garbage")
    shards[3].unlink()
    for shard in sorted((real / ".dossier-cache/markdown").glob("*.pickle"))[:3]:
        shard.write_bytes(b"garbage")
    EDITS["event body"](real)
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")
    from dossier.cache import load_cache
    assert len(load_cache(real / ".dossier-cache").parsed) == len(
        [f for f in (real / "content").rglob("*.*") if f.name != "dossier.yaml"])


def test_a_save_writes_the_shards_an_edit_changed_and_reads_back_what_it_holds(
        real, tmp_path):
    """cache._touched: a save compares only the shards that a key set, added, removed
    or given another object can have changed. After edits that add, change and delete
    records (and Markdown), the cache read back holds every record the content has, each
    as the build validated it, and the Markdown the pages showed; the other shard files
    are as they were."""
    from dossier import cache, pipeline
    from dossier.project import Project
    project = Project.at(real, jobs=1)
    first = pipeline.build(project).cache.parsed.keys()
    folder = real / ".dossier-cache"
    before = {p.name: p.read_bytes() for p in folder.glob("records/*.pickle")}
    EDITS["event body"](real)
    EDITS["file added"](real)
    EDITS["file deleted"](real)
    report = pipeline.build(project)
    after = {p.name: p.read_bytes() for p in folder.glob("records/*.pickle")}
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    edited = first ^ report.cache.parsed.keys()          # the files' digests, new and gone
    assert changed == {f"{cache._shard('parsed', key):02d}.pickle" for key in edited}
    assert len(edited) >= 3 and len(changed) < len(after)
    read = cache.load_cache(folder)
    assert read.parsed.keys() == report.cache.parsed.keys()
    assert all(read.parsed[key].validated[0] == record.validated[0]
               for key, record in report.cache.parsed.items())
    read.markdown.load_all()
    assert all(read.markdown.get(key) == value for key, value in report.cache.markdown.items())
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_a_shard_file_the_cache_could_not_use_is_rewritten_or_removed_by_the_next_save(real):
    """A records shard left by another version or unreadable is not read; the next save
    that has nothing for it removes it, so no later load reads it again."""
    from dossier import cache
    assert build(real).code == 0
    folder = real / ".dossier-cache/records"
    free = next(f"{n:02d}.pickle" for n in range(cache.SHARDS["parsed"])
                if not (folder / f"{n:02d}.pickle").exists())
    (folder / free).write_bytes(b"left by another version")
    EDITS["event body"](real)
    assert build(real).code == 0
    assert not (folder / free).exists()


def test_output_changed_behind_the_cache_gets_a_clean_build(real, tmp_path):
    assert build(real).code == 0
    (real / "site/index.html").write_text("tampered")
    (real / "site/.dossier-build").write_text("build: updating\n")  # as if killed mid-update
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_two_processes_render_exactly_what_one_does(tmp_path):
    from generate import generate
    generate(tmp_path, 320)
    one = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--no-cache", "--jobs", "1")
    two = run_cli("--root", tmp_path, "--out", tmp_path / "two", "--jobs", "2")
    assert one.code == two.code == 0
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")
    # what the worker rendered (pages, Markdown, fragments, data files) serves the next build
    event = sorted((tmp_path / "content/events").glob("*.md"))[100]
    event.write_text(event.read_text("utf-8") + "\nOne more line.\n", "utf-8")
    again = run_cli("--root", tmp_path, "--out", tmp_path / "two", "--jobs", "2")
    assert again.code == 0 and " 0 unchanged" not in again.out
    clean = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--no-cache", "--jobs", "1")
    assert clean.code == 0
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_what_the_worker_sends_and_the_cache_keeps_survives_any_batch_size(tmp_path,
                                                                           monkeypatch):
    """The worker sends its Markdown and fragments in batches, and the cache writes the
    fragments in records: with both made tiny (many batches, many records), the cache a
    two-process build leaves holds exactly what it holds with the usual sizes."""
    from generate import generate
    from dossier import cache as cache_, render
    generate(tmp_path / "usual", 320)
    shutil.copytree(tmp_path / "usual", tmp_path / "tiny")
    assert run_cli("--root", tmp_path / "usual", "--jobs", "2").code == 0
    monkeypatch.setattr(render, "BATCH", 7)
    monkeypatch.setattr(cache_, "FRAGMENT_CHUNK", 5)
    assert run_cli("--root", tmp_path / "tiny", "--jobs", "2").code == 0

    def kept(root):
        folder = root / ".dossier-cache"
        markdown = cache_.load_cache(folder).markdown
        markdown.load_all()
        return cache_._load_base(folder / cache_.BASE)[2], dict(markdown)
    usual, tiny = kept(tmp_path / "usual"), kept(tmp_path / "tiny")
    assert len(tiny[0]) > 50 * 5 and len(tiny[1]) > 50 * 7
    assert tiny == usual


def test_two_processes_share_the_data_files_each_made_once(tmp_path, monkeypatch):
    """On two cores the data files are tasks both processes take from one queue: each is
    made exactly once, by one process or the other, and all of them reach the site."""
    import os
    from generate import generate
    from dossier import outputs, pipeline
    generate(tmp_path, 320)
    log = tmp_path / "made.log"
    real_tasks = outputs.tasks

    def logged(*args):
        def wrap(task, number):
            def run():
                made = task()
                with open(log, "a", encoding="utf-8") as out:   # both processes append
                    out.write(f"{number} {os.getpid()}\n")
                return made
            return run
        return [wrap(task, number) for number, task in enumerate(real_tasks(*args))]
    monkeypatch.setattr(pipeline, "tasks", logged)
    assert run_cli("--root", tmp_path, "--out", tmp_path / "two", "--no-cache",
                   "--jobs", "2").code == 0
    lines = [line.split() for line in log.read_text("utf-8").splitlines()]
    assert sorted(int(number) for number, _ in lines) == list(range(len(outputs.GENERATED)))
    for url, _ in outputs.GENERATED:
        if url not in ("feed.xml", "sitemap.xml", "CNAME"):   # no site_url, no cname
            assert (tmp_path / "two" / url).is_file(), url


def _logged_order(tmp_path, monkeypatch):
    """Have both processes of a build log, in order, each data file made ("task"), each
    page streamed (its URL), each batch the worker sends ("send") and each result the
    parent reads from it ("received"); return a function giving (the parent's log, the
    worker's log, how many data files were made)."""
    import os
    from dossier import outputs, pipeline, render
    log = tmp_path / "order.log"

    def note(what: str) -> None:
        with open(log, "a", encoding="utf-8") as out:           # both processes append
            out.write(f"{os.getpid()} {what}\n")
    real_tasks, real_send = outputs.tasks, render._send_batches
    real_stream, real_received = render.stream_page, render._received

    def logged(*args):
        def wrap(task):
            def run():
                made = task()
                note("task")
                return made
            return run
        return [wrap(task) for task in real_tasks(*args)]
    monkeypatch.setattr(pipeline, "tasks", logged)
    monkeypatch.setattr(render, "stream_page", lambda env, dossier, spec, *args: (
        note(spec.url), real_stream(env, dossier, spec, *args))[1])
    monkeypatch.setattr(render, "_send_batches", lambda *args: (
        note("send"), real_send(*args))[1])
    monkeypatch.setattr(render, "_received", lambda *args: (
        note("received"), real_received(*args))[1])

    def read() -> tuple[list[str], list[str], int]:
        lines = [line.split() for line in log.read_text("utf-8").splitlines()]
        parent = [what for pid, what in lines if pid == str(os.getpid())]
        worker = [what for pid, what in lines if pid != str(os.getpid())]
        return parent, worker, sum(what == "task" for _, what in lines)
    return read


def test_in_an_edit_the_worker_makes_data_files_before_it_sends_what_it_rendered(
        tmp_path, monkeypatch):
    """In an edit the parent renders the single-file edition first (the one page only it
    renders; the worker takes the queue meanwhile) and reads nothing from the worker until
    it is done with its pages: a worker that sent its pages first waited with a full pipe
    (0.18 s of a 10,000-event title edit) instead of making the data files meanwhile.
    Both still take the data files from one queue, each made once."""
    from generate import generate
    from dossier import outputs
    generate(tmp_path, 320)
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    read = _logged_order(tmp_path, monkeypatch)
    event = sorted((tmp_path / "content/events").glob("*.md"))[100]
    text = event.read_text("utf-8")
    event.write_text(text.replace('title: "', 'title: "Retitled ', 1), "utf-8")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    parent, worker, made = read()
    assert parent[0] == "dossier.html"
    assert "send" in worker and "task" in worker and "dossier.html" not in worker
    assert worker.index("send") > max(i for i, what in enumerate(worker) if what == "task")
    assert made == len(outputs.GENERATED)
    clean = run_cli("--root", tmp_path, "--out", tmp_path / "clean", "--no-cache",
                    "--jobs", "1")
    assert clean.code == 0 and snapshot(tmp_path / "clean") == snapshot(tmp_path / "site")


def test_an_update_makes_the_markdown_it_changed_once_before_sharing_its_pages(
        tmp_path, monkeypatch):
    """An update on two processes finds or makes, before the fork, the Markdown of the
    records it changed and of those whose texts link to them (pages.render_edited): each
    text is rendered once, by the parent, though both processes show it (the record's
    page and the single-file edition). A renamed person's name is in the texts that link
    to the person: those are made again, once, the same way. Each site is a clean
    build's."""
    import os
    from generate import generate
    from dossier import markdown, pages
    generate(tmp_path, 320)
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    log, real = tmp_path / "rendered.log", markdown.render_portable

    def logged(text, *args):
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()} {text[:30]!r}\n")
        return real(text, *args)
    monkeypatch.setattr(pages, "render_portable", logged)

    def rendered() -> list[str]:
        found = log.read_text("utf-8").splitlines() if log.exists() else []
        log.unlink(missing_ok=True)
        return found

    def same_as_clean(name: str) -> bool:
        clean = run_cli("--root", tmp_path, "--out", tmp_path / name, "--no-cache",
                        "--jobs", "1")
        rendered()
        return clean.code == 0 and snapshot(tmp_path / name) == snapshot(tmp_path / "site")
    event = sorted((tmp_path / "content/events").glob("*.md"))[100]
    event.write_text(event.read_text("utf-8") + "\nA paragraph added.\n", "utf-8")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    made = rendered()
    assert len(made) == 1 and made[0].startswith(f"{os.getpid()} ")   # the body, once
    assert same_as_clean("clean-body")
    person = tmp_path / "content/people/person-1.yaml"
    person.write_text(re.sub(r"(?m)^name: .*$", "name: Renamed Person",
                             person.read_text("utf-8"), count=1), "utf-8")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    made = rendered()
    linking = [p for p in (tmp_path / "content").rglob("*.*")
               if re.search(r"\[\[person-1[]|]", p.read_text("utf-8"))]
    assert linking and made and len(made) == len(set(made))            # each text once,
    assert {line.split()[0] for line in made} == {str(os.getpid())}    # by the parent
    assert same_as_clean("clean-renamed")


def test_a_clean_build_waits_for_no_markdown_before_the_single_file_edition(tmp_path,
                                                                        monkeypatch):
    """A clean build renders its Markdown before any page (render.markdown_ahead): the
    parent goes from its pages to the single-file edition without reading anything
    from the worker, which makes data files before it sends what it made; each data
    file is made once, and the site is one core's."""
    from generate import generate
    from dossier import outputs
    generate(tmp_path, 320)
    read = _logged_order(tmp_path, monkeypatch)
    two = run_cli("--root", tmp_path, "--out", tmp_path / "two", "--no-cache", "--jobs", "2")
    assert two.code == 0
    parent, worker, made = read()
    assert "dossier.html" in parent and "received" in parent
    assert parent.index("dossier.html") < parent.index("received")
    assert "task" in worker and "send" in worker and "dossier.html" not in worker
    assert worker.index("send") > max(i for i, what in enumerate(worker) if what == "task")
    assert made == len(outputs.GENERATED)
    one = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--no-cache", "--jobs", "1")
    assert one.code == 0 and snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_the_timeline_charts_are_laid_out_once_ahead_and_only_drawn_by_the_pages(
        tmp_path, monkeypatch):
    """The timeline charts are laid out once per build, however many pages show them.
    On two cores a clean build's ahead worker lays them out while the parent links; so
    does, from LAYOUTS_AHEAD_MIN events, a worker forked for an edit that moves an event
    (pages.charts_ahead): the pages, on either process, only draw them. An edit that
    moves nothing lays nothing out, and forks no worker to find that out
    (pages.charts_ahead). One core lays them out itself, once. The worker that lays them
    out also draws them for both pages that show them (the timeline and the single-file
    edition), so neither render process draws any. Each site is a clean build's."""
    import os
    from generate import generate
    from dossier import charts, pipeline, render
    generate(tmp_path, 320)
    monkeypatch.setattr(pipeline, "LAYOUTS_AHEAD_MIN", 100)

    def callers(module, name: str):
        """Log the process of each call to ``module.name`` (any process appends); the
        reader returned gives them and empties the log."""
        log, real = tmp_path / f"{name}.log", getattr(module, name)

        def logged(*args):
            with open(log, "a", encoding="utf-8") as out:
                out.write(f"{os.getpid()}\n")
            return real(*args)
        monkeypatch.setattr(module, name, logged)

        def read() -> list[str]:
            found = log.read_text("utf-8").split() if log.exists() else []
            log.unlink(missing_ok=True)
            return found
        return read
    laid_out = callers(charts, "timeline_layout")
    drawn = callers(charts, "draw_timeline")
    forked = callers(render, "_ahead")                     # the ahead worker, once forked

    def same_as_clean(name: str) -> bool:
        clean = run_cli("--root", tmp_path, "--out", tmp_path / name, "--no-cache",
                        "--jobs", "1")
        laid_out()                                            # (its own: not the edit's)
        return clean.code == 0 and snapshot(tmp_path / name) == snapshot(tmp_path / "site")
    assert run_cli("--root", tmp_path, "--out", tmp_path / "one", "--no-cache",
                   "--jobs", "1").code == 0
    one = laid_out()
    assert one and set(one) == {str(os.getpid())}           # once, for both pages
    assert drawn() == [str(os.getpid())] * 2 * len(one)     # by each page
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    made = laid_out()
    assert len(made) == len(one) and str(os.getpid()) not in made and len(set(made)) == 1
    assert drawn() == made * 2                              # ahead, for both pages
    assert forked() == made[:1]                             # (its Markdown too)
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "site")
    event = sorted((tmp_path / "content/events").glob("*.md"))[100]
    text = event.read_text("utf-8")
    event.write_text(re.sub(r"\ndate: [0-9-]+", "\ndate: 2099-01-02", text, count=1), "utf-8")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    moved = laid_out()
    assert len(moved) == len(one) and str(os.getpid()) not in moved and len(set(moved)) == 1
    assert drawn() == moved * 2
    assert forked() == moved[:1]                            # the worker that laid them out
    assert same_as_clean("clean-moved")
    drawn()
    event.write_text(event.read_text("utf-8").replace("\n---\n", "\n---\nA new line.\n\n", 1),
                     "utf-8")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    assert laid_out() == [] and forked() == []              # nothing to lay out: no worker
    assert same_as_clean("clean-body")


def test_an_update_that_moves_an_event_hands_its_charts_to_a_worker_forked_early(
        tmp_path, monkeypatch):
    """A cached build of a large site forks, before it reads the cache, a worker that
    stands by (render.Ahead.stand_by): an update that moves an event sends it the
    timeline charts to lay out and draw, from plain values, so no worker shares the
    parent's memory while it links and plans. An update that moves nothing sends it no
    task, and it ends with the build, as it does after its task. Each site is a clean
    build's."""
    import multiprocessing
    import os
    from generate import generate
    from dossier import charts, pipeline, render
    generate(tmp_path, 320)
    monkeypatch.setattr(pipeline, "LAYOUTS_AHEAD_MIN", 100)
    monkeypatch.setattr(pipeline, "WALK_AHEAD_MIN", 100)
    log = tmp_path / "calls.log"

    def logged(module, name: str):
        real = getattr(module, name)

        def logging(*args, **kwargs):
            with open(log, "a", encoding="utf-8") as out:
                out.write(f"{name} {os.getpid()}\n")
            return real(*args, **kwargs)
        monkeypatch.setattr(module, name, logging)
    for module, name in ((render, "_standing_by"), (render, "_ahead"),
                         (charts, "timeline_layout"), (pipeline, "load_cache"),
                         (render.Ahead, "stand_by")):
        logged(module, name)

    def calls() -> list[tuple[str, str]]:
        found = [tuple(line.split()) for line in log.read_text("utf-8").splitlines()] \
            if log.exists() else []
        log.unlink(missing_ok=True)
        return found

    def same_as_clean(name: str) -> bool:
        clean = run_cli("--root", tmp_path, "--out", tmp_path / name, "--no-cache",
                        "--jobs", "1")
        return clean.code == 0 and snapshot(tmp_path / name) == snapshot(tmp_path / "site")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    calls()
    event = sorted((tmp_path / "content/events").glob("*.md"))[100]
    text = event.read_text("utf-8")
    event.write_text(re.sub(r"\ndate: [0-9-]+", "\ndate: 2099-01-02", text, count=1), "utf-8")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    made = calls()
    me = str(os.getpid())
    standby = [pid for name, pid in made if name == "_standing_by"]
    assert len(standby) == 1 and standby[0] != me
    assert made.index(("stand_by", me)) < made.index(("load_cache", me))  # forked first
    laid = {pid for name, pid in made if name == "timeline_layout"}
    assert laid == set(standby)                            # laid out there, nowhere else
    assert [pid for name, pid in made if name == "_ahead"] == standby
    assert multiprocessing.active_children() == []
    assert same_as_clean("clean-moved")
    calls()
    event.write_text(event.read_text("utf-8") + "\nA new paragraph.\n", "utf-8")
    assert run_cli("--root", tmp_path, "--jobs", "2").code == 0
    made = calls()
    assert sorted(name for name, _ in made) == ["_standing_by", "load_cache", "stand_by"]
    assert multiprocessing.active_children() == []
    assert same_as_clean("clean-body")


def test_a_template_error_in_either_process_fails_the_build_cleanly(tmp_path):
    """Both processes take pages from one queue: whichever meets the broken template,
    the build stops with the template's name and line, and writes nothing."""
    from generate import generate
    generate(tmp_path, 320)
    for folder in ("templates", "assets"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    person = tmp_path / "templates/person.html"
    lines = person.read_text("utf-8").split("\n")
    lines.insert(lines.index("{% block main %}") + 1, "{{ person.no_such_field }}")
    person.write_text("\n".join(lines), "utf-8")
    result = run_cli("--root", tmp_path, "--out", tmp_path / "site", "--jobs", "2")
    assert result.code == 1
    assert "templates/person.html:7:" in result.err and "no_such_field" in result.err
    assert not (tmp_path / "site").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_validation_outcomes_come_from_the_cache_with_their_warnings(real, monkeypatch):
    """An unchanged file is not validated again, but what validating it said is still
    said; a changed dossier.yaml sends every file through validation again."""
    from dossier import pipeline, validate
    from dossier.project import Project
    draft = real / "content/events/2025-11-05-draft.md"
    draft.write_text(NEW_EVENT.replace("---\n", "---\ndraft: true\n", 1), "utf-8")
    first = build(real)
    assert first.code == 0 and "2025-11-05-draft.md:2: warning: draft: not published" in first.err
    calls = []
    original = validate.BUILDERS["event"]
    monkeypatch.setitem(validate.BUILDERS, "event",
                        lambda *a: calls.append(a[0].slug) or original(*a))
    EDITS["event body"](real)
    report = pipeline.build(Project.at(real))
    assert calls == ["2025-11-06-congress-declares-sheinbaum-persona-non-grata"]
    assert any(w.field == "draft" for w in report.warnings)
    replace_in(real / "content/dossier.yaml", "title: Peru–Mexico rupture",
               "title: The Peru–Mexico rupture")
    calls.clear()
    pipeline.build(Project.at(real))
    assert len(calls) == len(list((real / "content/events").glob("*.md"))) - 1  # not the draft


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_logged_block_moves_give_back_every_block_where_it_now_is(data):
    """cache._span_changes logs the blocks that only moved as runs of blocks, by file and
    in the order of their old offsets, that moved alike; _apply_spans on the blocks as
    they were gives the blocks as they are, whatever moved, changed, came or went."""
    import marshal
    from dossier import cache
    old, new = {}, {}
    for url in ("a.html", "b.json"):
        offset, shift = 0, 0
        for number in range(data.draw(st.integers(0, 30))):
            key = (url, "part", bytes([number]))
            length = data.draw(st.integers(1, 50))
            old[key] = (offset, length, ("rec:x",), b"d" + bytes([number]))
            fate = data.draw(st.sampled_from(["kept", "kept", "kept", "grown", "gone"]))
            if fate == "gone":
                shift -= length
            elif fate == "grown":
                new[key] = (offset + shift, length + 3, ("rec:x",), b"e" + bytes([number]))
                shift += 3
            else:
                new[key] = (offset + shift, length, ("rec:x",), b"d" + bytes([number]))
            offset += length
        if data.draw(st.booleans()):
            new[(url, "part", b"new")] = (offset + shift, 7, ("rec:y",), b"n")
    change = marshal.loads(marshal.dumps(cache._span_changes(old, new)))
    entries = dict(old)
    cache._apply_spans(entries, change)
    assert entries == new


def test_blocks_that_moved_alike_are_logged_as_one_run():
    """One block of 100 grown by 3 bytes moves the 89 after it alike: one run, from the
    first of them to the last, not 89 offsets."""
    from dossier import cache
    old = {("a.html", "part", bytes([n])): (10 * n, 10, ("rec:x",), bytes([n]))
           for n in range(100)}
    new = {key: (offset + 3 * (key[2][0] > 10), length + 3 * (key[2][0] == 10), deps,
                 digest + b"!" * (key[2][0] == 10))
           for key, (offset, length, deps, digest) in old.items()}
    updates, moves, removed = cache._span_changes(old, new)
    assert list(updates) == [("a.html", "part", bytes([10]))] and removed == ()
    assert moves == (("a.html", 110, 990, 3),)


def test_a_chain_of_edits_is_logged_then_folded_and_stays_exact(real, tmp_path, monkeypatch):
    """Each edit's build appends a log of what changed to the stored state instead of
    writing it all again; the logs read back give exactly the build's own state and
    fragments; past MAX_LOGS they are folded into a new base; and after every step the
    site is a clean build's bytes."""
    from dossier import cache as cache_
    from dossier import pipeline
    from dossier.project import Project
    monkeypatch.setattr(cache_, "MAX_LOGS", 3)
    monkeypatch.setattr(cache_, "LOG_SHARE", 100)        # this dossier is tiny: fold by count
    project = Project.at(real, jobs=1)
    folder = real / ".dossier-cache"
    pipeline.build(project)
    base = (folder / cache_.BASE).stat().st_mtime_ns
    steps = ["event body", "profile", "quote edited", "file added", "source"]
    for number, name in enumerate(steps, 1):
        EDITS[name](real)
        report = pipeline.build(project)
        logs = sorted(p.name for p in (folder / cache_.LOGS).glob("log-*.pickle"))
        if number <= 3:
            assert logs == [f"log-{n:03d}.pickle" for n in range(1, number + 1)]
            assert (folder / cache_.BASE).stat().st_mtime_ns == base   # not written again
        else:                                             # folded at the fourth save
            assert logs == [f"log-{n:03d}.pickle" for n in range(1, number - 3)]
        read = cache_.load_cache(folder)
        assert read.state == report.cache.state
        assert read.fragments == report.cache.fragments
        assert snapshot(real / "site") == clean_build(real, tmp_path / f"clean-{number}")


def test_an_event_moved_and_moved_back_through_the_logs_stays_exact(real, tmp_path,
                                                                     monkeypatch):
    """A state's pages are in the timeline's order, which an edit that moves an event
    changes alone: its log carries the new order. Moved, then moved back, each build
    reading the state from the base and a log: the pages read back are in the build's
    order, and the site is a clean build's (read back in the base's order, the second
    move left the links of the event's new neighbours stale)."""
    from dossier import cache as cache_
    from dossier import pipeline
    from dossier.project import Project
    monkeypatch.setattr(cache_, "LOG_SHARE", 100)        # this dossier is tiny: keep logs
    project = Project.at(real, jobs=1)
    folder = real / ".dossier-cache"
    report = pipeline.build(project)
    moves = [("date: 2025-11-06", "date: 2025-11-02"), ("date: 2025-11-02", "date: 2025-11-06")]
    for number, (old, new) in enumerate(moves, 1):
        before = list(report.cache.state.pages)
        replace_in(real / EV, old, new)
        report = pipeline.build(project)
        assert list(report.cache.state.pages) != before   # the timeline's order changed
        assert list(cache_.load_cache(folder).state.pages) == list(report.cache.state.pages)
        assert (folder / cache_.LOGS / f"log-{number:03d}.pickle").exists()
        assert snapshot(real / "site") == clean_build(real, tmp_path / f"clean-{number}")


def test_an_edit_takes_each_pages_signature_once(real, tmp_path, monkeypatch):
    """Planning compares the pages every dossier has by their context's signature, and
    the next state keeps the signature of every page rendered: a page planned and
    rendered has its signature taken once (the timeline's and the single-file edition's
    read every record), and the site is a clean build's."""
    from collections import Counter
    from dossier import incremental
    assert build(real).code == 0
    taken: Counter = Counter()
    real_signature = incremental.signature

    def counted(spec):
        taken[spec.url] += 1
        return real_signature(spec)
    monkeypatch.setattr(incremental, "signature", counted)
    EDITS["event date moves it in the timeline"](real)
    assert build(real).code == 0
    assert taken["timeline.html"] == taken["dossier.html"] == 1
    assert max(taken.values()) == 1
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_a_log_holds_a_page_rendered_again_with_the_same_dependencies_by_its_digest(
        real, tmp_path, monkeypatch):
    """A page an edit renders again with the dependencies it had is logged as its new
    signature and digest alone (the timeline's and the single-file edition's keys name
    every record); one whose dependencies changed, whole. Read back, the state is the
    build's, and the next edit's site a clean build's."""
    import pickle
    from dossier import cache as cache_
    from dossier import pipeline
    from dossier.incremental import PageMemo
    from dossier.project import Project
    monkeypatch.setattr(cache_, "LOG_SHARE", 100)        # this dossier is tiny: keep logs
    project = Project.at(real, jobs=1)
    folder = real / ".dossier-cache"
    first = pipeline.build(project).cache.state
    EDITS["event date moves it in the timeline"](real)
    report = pipeline.build(project)
    with open(folder / cache_.LOGS / "log-001.pickle", "rb") as handle:
        updates = pickle.load(handle)[2]["pages"][0]
    slim = {url for url, memo in updates.items() if isinstance(memo, tuple)}
    assert "timeline.html" in slim and "dossier.html" in slim
    for url, memo in updates.items():
        now = report.cache.state.pages[url]
        if url in slim:
            assert first.pages[url].deps == now.deps and memo == (now.signature, now.digest)
        else:
            assert isinstance(memo, PageMemo) and (
                url not in first.pages or first.pages[url].deps != memo.deps)
    assert cache_.load_cache(folder).state == report.cache.state
    EDITS["event title"](real)
    pipeline.build(project)
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")
    from dossier.incremental import State, next_state      # the same keys in another
    old = State({}, {}, {}, {"a.html": PageMemo(("x", "y", "z"), b"s", "d")}, {})  # order
    for keys, kept in ((("z", "x", "y"), True), (("z", "x"), False), (("z", "x", "w"), False)):
        new = next_state({}, {}, old, ["a.html"], [], {"a.html": ("e", keys)}, {}, {},
                         {"a.html": b"t"}).pages["a.html"]
        assert new == PageMemo(old.pages["a.html"].deps if kept else keys, b"t", "e")
        assert (new.deps is old.pages["a.html"].deps) == kept


def test_a_missing_or_corrupt_log_is_never_half_trusted(real, tmp_path, monkeypatch):
    """Without every log, the stored state and fragments are dropped as a whole (pieces
    that an edit in a lost log made stale must not come back), and the build is exact."""
    from dossier import cache as cache_
    monkeypatch.setattr(cache_, "LOG_SHARE", 100)        # this dossier is tiny: keep logs
    folder = real / ".dossier-cache"
    assert build(real).code == 0
    EDITS["profile"](real)
    assert build(real).code == 0
    EDITS["event body"](real)
    assert build(real).code == 0
    assert cache_.load_cache(folder).state is not None
    (folder / cache_.LOGS / "log-001.pickle").write_bytes(b"garbage")
    read = cache_.load_cache(folder)
    assert read.state is None and read.fragments == {}
    assert read.parsed                                   # the records are still there
    EDITS["organization"](real)
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")
    (folder / cache_.BASE).unlink()
    EDITS["source"](real)
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean2")


def test_an_edit_reads_only_the_markdown_shards_it_needs_and_keeps_the_others(
        real, tmp_path, monkeypatch):
    """The Markdown memo is read shard by shard as texts are looked up: an edit reads a
    few, rewrites only those it changed, and every other shard stays on disk as it was
    (with blocks of records as small as in a large dossier: deps.blocks)."""
    from dossier import cache, deps
    monkeypatch.setattr(deps, "BLOCK", 3)
    assert build(real).code == 0
    folder = real / ".dossier-cache/markdown"
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.pickle")}
    assert len(before) > 20
    read = []
    real_read = cache._read_shard

    def counted(path, scope, *how):
        if path.parent == folder:
            read.append(path.name)
        return real_read(path, scope, *how)
    monkeypatch.setattr(cache, "_read_shard", counted)
    EDITS["event body"](real)
    assert build(real).code == 0
    assert 0 < len(set(read)) < len(before) / 2
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.pickle")}
    assert {name for name in before if after.get(name) != before[name]} <= set(read)
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")
    monkeypatch.setattr(cache, "_read_shard", real_read)
    memo = cache.load_cache(real / ".dossier-cache")
    assert len(memo.markdown) == 0                     # nothing read until asked for
    size = cache.memo_size(memo)
    memo.markdown.load_all()
    assert len(memo.markdown) == size > len(before)


def test_a_clean_render_on_two_cores_reads_the_whole_markdown_memo_first(tmp_path,
                                                                         monkeypatch):
    """With a cache but no usable state (the site was deleted), every page renders on two
    cores from a memo read as needed: it is read whole before the worker is forked, the
    site equals a clean one, and no Markdown is rendered again."""
    from generate import generate
    from dossier import cache, markdown
    generate(tmp_path, 320)
    assert run_cli("--root", tmp_path, "--out", tmp_path / "site", "--jobs", "2").code == 0
    shutil.rmtree(tmp_path / "site")
    rendered = []
    real_render = markdown.render_portable
    monkeypatch.setattr(markdown, "render_portable",
                        lambda *a, **k: rendered.append(a) or real_render(*a, **k))
    from dossier import pages
    monkeypatch.setattr(pages, "render_portable", markdown.render_portable)
    read_whole = []
    real_load_all = cache.LazyShards.load_all
    monkeypatch.setattr(cache.LazyShards, "load_all",
                        lambda self: read_whole.append(len(self)) or real_load_all(self))
    again = run_cli("--root", tmp_path, "--out", tmp_path / "site", "--jobs", "2")
    assert again.code == 0 and "0 unchanged" in again.out
    assert rendered == []                      # in this process; the worker's are not seen
    assert len(read_whole) == 1 and read_whole[0] < 320   # read whole once, before the fork
    assert snapshot(tmp_path / "site") == clean_build(tmp_path, tmp_path / "clean")
    monkeypatch.undo()
    memo = cache.load_cache(tmp_path / ".dossier-cache")
    size = cache.memo_size(memo)
    memo.markdown.load_all()
    assert len(memo.markdown) == size > 320


def test_a_truncated_or_padded_base_is_not_trusted(real, tmp_path):
    """The base holds the state pickled, then the fragments as marshal records: any cut
    (in either part) or trailing bytes make it unreadable, and the build is clean."""
    from dossier import cache as cache_
    assert build(real).code == 0
    base = real / ".dossier-cache" / cache_.BASE
    whole = base.read_bytes()
    token, state, fragments = cache_._load_base(base)
    assert fragments and state.pages
    for damaged in (whole[:len(whole) // 3], whole[:len(whole) - 1], whole + b"\0",
                    whole[:100]):
        base.write_bytes(damaged)
        assert cache_._load_base(base) is None
    base.write_bytes(whole[:len(whole) - 1])
    assert cache_.load_cache(real / ".dossier-cache").state is None
    EDITS["event body"](real)
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")
    assert cache_._load_base(base)[2]                  # written anew


def test_fingerprints_are_of_values_whatever_objects_hold_them():
    """Index signatures and chart keys are compared across builds by fingerprint: equal
    values give equal digests whether their strings are shared, interned or not, and
    different values (or shapes) give different ones."""
    import sys
    from dossier.deps import ENTRY_SIGNATURES, INDEXES, fingerprint
    shared = "Jerí"
    assert fingerprint((shared, shared, None, 3)) == fingerprint(
        ("".join(["Je", "rí"]), sys.intern("".join(["Jer", "í"])), None, 3))
    assert len({fingerprint(v) for v in (("a", "b"), ("ab",), ("a", "b", None), (("a",), "b"),
                                         ("a", "b", ""), (1, "b"), ("1", "b"))}) == 7
    assert set(ENTRY_SIGNATURES) == set(INDEXES)


def test_a_list_file_changed_behind_the_cache_is_made_again_not_copied_from(real, tmp_path):
    """Blocks are copied from the files the last build wrote only while those files are
    as it left them (size and modification time): a hand-edited dossier.html or
    dossier.json is made again in full, never spliced."""
    assert build(real).code == 0
    for name in ("dossier.html", "dossier.json"):
        page = real / "site" / name
        page.write_bytes(page.read_bytes().replace(b"Peru", b"P\xc3\xa9ru", 1))
    EDITS["event body"](real)
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_a_site_a_no_cache_build_wrote_again_keeps_its_blocks_for_the_next_edit(
        real, tmp_path, monkeypatch):
    """A `--no-cache` build writes the same site again: every file's modification time
    differs, every block is where the cache says. The next edit copies those blocks
    (write.pieces_intact) rather than making them all again, and is a clean build's
    bytes; a file one of whose blocks changed, at the same size, is made again."""
    from dossier import cache as cache_, pipeline
    from dossier.project import Project
    assert build(real).code == 0
    assert build(real, "--no-cache").code == 0
    kept = cache_.load_cache(real / ".dossier-cache")
    spans = sorted(span for key, span in kept.fragments.items() if key[0] == "dossier.json")
    assert len(kept.spliced) > 3 and spans
    page = real / "site" / "dossier.json"
    data = bytearray(page.read_bytes())
    start, length = spans[len(spans) // 2][:2]
    at = start + data[start:start + length].index(b'"') + 1    # a letter inside a string
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")
    page.write_bytes(bytes(data))
    found = []
    real_intact = pipeline._intact
    monkeypatch.setattr(pipeline, "_intact",
                        lambda project, cache: found.append(real_intact(project, cache))
                        or found[-1])
    EDITS["event body"](real)
    pipeline.build(Project.at(real, jobs=1))
    assert found == [set(kept.spliced) - {"dossier.json"}]
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_blocks_end_where_records_say_so_and_an_insertion_changes_one_block():
    """deps.blocks cuts a list where a record's name hashes to a multiple of BLOCK: the
    cuts do not depend on positions, so a record added in the middle leaves every other
    block as it was, and every record is in exactly one block, in order."""
    from types import SimpleNamespace
    from dossier import deps
    records = [SimpleNamespace(slug=f"event-{n}") for n in range(400)]
    before = deps.blocks(records, deps.record_name)
    assert [r for run, _ in before for r in run] == records
    assert 400 / deps.BLOCK / 3 < len(before) < 400 / deps.BLOCK * 3
    assert all(names == tuple(r.slug for r in run) for run, names in before)
    after = deps.blocks(records[:200] + [SimpleNamespace(slug="added")] + records[200:],
                        deps.record_name)
    assert len({names for _, names in before} - {names for _, names in after}) == 1
    assert len({names for _, names in after} - {names for _, names in before}) == 1


@pytest.mark.parametrize("template", [
    "{{ here.each(m, x)|upper }}", "{% set y %}{{ here.each(m, x) }}{% endset %}",
    "{% macro q() %}{{ here.cached(m) }}{% endmacro %}", "{% set e = here.each %}",
    "{{ f(here) }}", "{% filter upper %}{% block a %}{% endblock %}{% endfilter %}",
    "{{ here.each(m, here.each(m, x)) }}", "{{ super()|upper }}",
    "{{ here.each(m, x) if a }}", "{{ here.jsonld('quotes')|length }}",
    "{% block k %}{{ here.each(m, x) }}{% endblock %}{{ self.k()|upper }}",
    "{% filter upper %}{% include 'x' %}{% endfilter %}",
    "{% for x in y recursive %}{{ here.cached(m, x) }}{{ loop(x.c)|upper }}{% endfor %}"])
def test_templates_that_could_change_what_here_each_returns_are_not_spliced(template):
    from dossier.render import splice_safe
    assert not splice_safe({"page.html": template})
    assert splice_safe({"page.html": "{% for x in y %}{{ here.cached(m, x) }}{% endfor %}"
                                     "{{ here.each(m, y) }}{% block k %}a{% endblock %}"
                                     "{{ self.k()|upper }}"})


def test_a_template_that_filters_a_list_still_builds_exactly(real, tmp_path):
    """A timeline template that filters what here.each returns gets the pieces
    themselves (no placeholders: render.splice_safe), on every build, and is right."""
    timeline = real / "templates/timeline.html"
    text = timeline.read_text("utf-8")
    assert "{{ here.each(timeline_item, events) }}" in text
    timeline.write_text(text.replace("{{ here.each(timeline_item, events) }}",
                                     "{{ here.each(timeline_item, events)|replace('tl-event', 'tl-event x') }}"),
                        "utf-8")
    assert build(real).code == 0
    assert b'<li class="tl-event x"' in (real / "site/timeline.html").read_bytes()
    EDITS["event body"](real)
    assert build(real).code == 0
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


@pytest.mark.parametrize("read", ["e.body|wordcount", "e['body']|length",
                                  "[e]|map(attribute='body')|join|length"])
def test_a_template_that_shows_bodies_elsewhere_is_rendered_again_after_a_body_edit(
        real, tmp_path, read):
    """An edit of an event's body alone changes its body's key, not its record's
    (incremental.body_edits): a page or block that reads the body in any way a template
    can (an attribute, an item, a filter's attribute) records that key, and is made
    again; one that does not is kept. Here the timeline's items show their bodies' size."""
    timeline = real / "templates/timeline.html"
    text = timeline.read_text("utf-8")
    assert '<li class="tl-event" id="e-{{ e.slug }}"' in text
    timeline.write_text(text.replace('<li class="tl-event" id="e-{{ e.slug }}"',
                                     '<li class="tl-event" id="e-{{ e.slug }}" '
                                     'data-size="{{ ' + read + ' }}"'), "utf-8")
    assert build(real).code == 0
    before = (real / "site/timeline.html").read_bytes()
    EDITS["event body"](real)
    result = build(real)
    assert result.code == 0 and (real / "site/timeline.html").read_bytes() != before
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")


def test_a_body_edit_is_told_from_one_that_changes_anything_else(real):
    """incremental.body_edits: an event whose body alone changed (its links too) is one;
    an event whose front matter changed too, or a profile, is not."""
    from dossier import pipeline
    from dossier.incremental import body_edits
    from dossier.project import Project
    project = Project.at(real, jobs=1)
    first = pipeline.build(project)
    slug = "2025-11-06-congress-declares-sheinbaum-persona-non-grata"

    def edited(*edits) -> set[str]:
        for edit in edits:
            EDITS[edit](real)
        then = pipeline.build(project, first.cache)
        state = first.cache.state
        inputs = then.cache.state.inputs
        return body_edits(state, inputs, first.cache.parsed, then.cache.parsed)
    assert edited("event body") == {slug}
    assert edited("wikilink added") == {slug}
    assert edited("event title") == set()
    assert edited("profile") == set()


def test_the_memo_lists_what_was_set_not_what_was_read(real):
    """The render worker sends back the memo entries set since it started (render._worker
    asks LazyShards.made): a chart redrawn over an entry read from the cache is among
    them (kept in place, it never reached the parent and was drawn again on every
    build), and entries merely read from a shard are not (they were sent for nothing)."""
    from dossier import cache
    assert build(real).code == 0
    memo = cache.load_cache(real / ".dossier-cache").markdown
    memo.load_all()
    assert memo.made == [] and len(memo) > 20
    key, (value, signature) = next(iter(memo.items()))
    memo[key] = ("redrawn", signature)
    memo.update({("new", "text"): ("<p>new</p>", ())})
    assert memo.made == [key, ("new", "text")] and memo[key] == ("redrawn", signature)


PLANNED = {                                       # (every index entry taken, every page planned)
    "event body": (False, False),                 # prose: a few entries, the same pages
    "wikilink added": (False, False),             # the body links to another record
    "event title": (False, False),                # the same pages, in the same order
    "quote edited": (False, False),
    "participant added": (False, False),
    "event date moves it in the timeline": (False, False),  # the same pages, reordered
    "profile": (False, False),                    # a new name, in the same place
    "profile renamed, sorted elsewhere": (False, False),  # people in another order
    "source": (False, False),                     # a new name, in the same place
    "file added": (True, True),
    "file deleted": (True, True),
    "dossier.yaml": (True, True),                 # a new site: every page
    "asset": (False, False),                      # the single-file edition inlines it
    "event body and stylesheet": (False, False),
}


@pytest.mark.parametrize("edit", sorted(PLANNED))
def test_only_an_edit_that_keeps_the_pages_plans_only_those_to_render(real, monkeypatch,
                                                                      edit):
    """An edit of records that adds or removes none takes again only the index entries
    it can have changed (incremental.touched_entries), and keeps the previous build's
    others; a prose edit changes none of them. An edit that
    leaves the site the same pages, in the same order or not (incremental.same_records),
    plans only the pages to render again (stale_urls, and events with new neighbours);
    any other edit plans every page and compares their contexts. Either way every page
    keeps the context it had, unless it is planned again, and the result is a clean
    build's (the equality test above)."""
    from dossier import pipeline
    from dossier.incremental import signature
    from dossier.load import load_assets
    from dossier.pages import plan
    from dossier.project import Project
    project = Project.at(real, jobs=1)
    first = pipeline.build(project)
    taken, planned = [], []
    original, all_records = pipeline.index_signatures, pipeline.record_pages
    monkeypatch.setattr(pipeline, "index_signatures",
                        lambda dossier, *kept: taken.append(not kept) or original(dossier, *kept))
    monkeypatch.setattr(pipeline, "record_pages",
                        lambda dossier: planned.append(1) or all_records(dossier))
    EDITS[edit](real)
    second = pipeline.build(project)
    assert (taken == [True], planned == [1]) == PLANNED[edit]
    assert second.cache.state.indexes == original(second.dossier)
    if edit == "event body":                              # prose: every entry as it was
        assert second.cache.state.indexes == first.cache.state.indexes
    style = load_assets(real / "assets")["assets/style.css"].decode("utf-8")
    specs = plan(second.dossier, style)
    assert len(specs) > 50
    assert list(second.cache.state.pages) == [spec.url for spec in specs]
    assert {s.url: signature(s) for s in specs} == \
        {url: memo.signature for url, memo in second.cache.state.pages.items()}


def test_an_edit_on_two_processes_keeps_the_blocks_one_process_keeps(tmp_path):
    """A worker sends back a block it copied from the previous file as its new offset
    alone (render._moved), and the parent fills in the rest from the blocks it has:
    after an edit, the cache's blocks and the site are those of a one-process build."""
    from generate import generate
    from dossier import cache as cache_
    generate(tmp_path / "two", 320)
    shutil.copytree(tmp_path / "two", tmp_path / "one")
    for jobs in ("1", "2"):
        root = tmp_path / ("one" if jobs == "1" else "two")
        assert run_cli("--root", root, "--jobs", jobs).code == 0
    for jobs in ("1", "2"):
        root = tmp_path / ("one" if jobs == "1" else "two")
        event = sorted((root / "content/events").glob("*.md"))[160]
        event.write_text(event.read_text("utf-8") + "\nOne more sentence.\n", "utf-8")
        assert run_cli("--root", root, "--jobs", jobs).code == 0
    one, two = (cache_.load_cache(tmp_path / name / ".dossier-cache").fragments
                for name in ("one", "two"))
    assert len(one) > 200 and one == two
    assert snapshot(tmp_path / "one" / "site") == snapshot(tmp_path / "two" / "site")


def test_after_a_prose_edit_pages_are_stale_by_their_keys_or_a_lost_block():
    """incremental.stale_urls: a page is rendered again when a key it read changed or
    when it lost a block (its own keys leave out its blocks'), in the state's order."""
    from dossier.incremental import PageMemo, State, stale_urls
    pages = {"index.html": PageMemo(("all:event",), b"", "d1"),
             "sources.html": PageMemo(("all:source",), b"", "d2"),
             "people/a.html": PageMemo(("rec:a",), b"", "d3"),
             "events/e.html": PageMemo(("rec:e", "rec:a"), b"", "d4")}
    old = State({}, {}, {}, pages, {})
    changed = {"rec:e", "all:event"}
    assert stale_urls(old, changed) == ["index.html", "events/e.html"]
    assert stale_urls(old, changed, {"sources.html"}) == \
        ["index.html", "sources.html", "events/e.html"]
    assert stale_urls(old, set(), set()) == []


def test_every_read_of_an_index_entry_records_it_and_the_records_it_shows():
    """Pages share the reads of an index entry (Dossier.reads): a second page reading
    it records the same keys as the first, a missing entry records its own key (and the
    records of the default it falls back to), and another dossier keeps its own reads."""
    from dataclasses import replace
    from dossier.deps import TrackedDossier, rec
    from dossier.pipeline import compile_dossier
    from dossier.project import Project
    dossier = compile_dossier(Project.at(REPO))[0]
    person = "betssy-chavez"
    shown = {rec(event.slug) for event, _ in dossier.events_of[person]}
    assert shown
    for _ in range(2):                                # the second read is the memo's
        deps: set[str] = set()
        assert TrackedDossier(dossier, deps).events_of.get(person) == dossier.events_of[person]
        assert deps == {f"idx:events_of:{person}"} | shown
    deps = set()
    default = ((dossier.events[0], None),)
    assert TrackedDossier(dossier, deps).events_of.get("no-such-record", default) == default
    assert deps == {"idx:events_of:no-such-record", rec(dossier.events[0].slug)}
    deps = set()
    assert TrackedDossier(dossier, deps).events_of.get("no-such-record") == ()
    assert deps == {"idx:events_of:no-such-record"}
    other = replace(dossier, events_of={person: dossier.events_of[person][:1]})
    deps = set()
    TrackedDossier(other, deps).events_of.get(person)
    assert deps == {f"idx:events_of:{person}", rec(dossier.events_of[person][0][0].slug)}


def test_a_title_edit_names_the_chart_marks_afresh_without_drawing_the_charts(
        real, tmp_path, monkeypatch):
    """The timeline charts are kept while the events' dates, tracks and order are: after
    a title edit (with characters that must be escaped) their marks are named afresh
    (charts.retitled), none is drawn again, and the site is a clean build's; a date edit
    draws them again."""
    from dossier import charts
    drawn = []
    original = charts.draw_timeline
    monkeypatch.setattr(charts, "draw_timeline",
                        lambda *args, **kwargs: drawn.append(1) or original(*args, **kwargs))
    assert build(real).code == 0
    assert drawn
    drawn.clear()
    replace_in(real / EV, "title: Peru's Congress declares",
               'title: "Congress & \\"friends\\" <declare>" #')
    assert build(real).code == 0
    assert drawn == []
    timeline = (real / "site/timeline.html").read_text("utf-8")
    assert "Congress &amp; &quot;friends&quot; &lt;declare&gt;" in timeline
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean")
    EDITS["event date moves it in the timeline"](real)
    assert build(real).code == 0
    assert drawn
    assert snapshot(real / "site") == clean_build(real, tmp_path / "clean2")


def test_an_edit_with_all_its_markdown_cached_never_loads_the_markdown_parser(project):
    """markdown-it is imported and configured when a text must be rendered: not by a
    title edit, whose every text is in the cache, but by a body edit."""
    import subprocess
    import sys
    assert build(project).code == 0
    script = ("import sys\nfrom dossier.cli import main\n"
              f"code = main(['--root', {str(project)!r}])\n"
              "print(code, 'markdown_it' in sys.modules)\n")

    def loaded(rel: str, old: str, new: str) -> str:
        path = project / rel
        path.write_text(path.read_text("utf-8").replace(old, new, 1), "utf-8")
        return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.splitlines()[-1]
    event = "content/events/2025-11-03-break.md"
    assert loaded(event, "title: Relations broken", "title: Relations cut") == "0 False"
    assert loaded(event, "\n---\n", "\n---\nA new first line.\n\n") == "0 True"


def test_a_pages_signature_names_its_records_as_a_generic_lookup_would(real):
    """incremental._ident knows records, quotes and lists by their type first; what it
    gives for every page of the dossier is what the generic lookup gives (a slug where
    there is one, a quote's id, a list's items', a plain string, a type's name)."""
    from dossier import pipeline
    from dossier.deps import fingerprint
    from dossier.incremental import signature
    from dossier.model import Quote
    from dossier.pages import plan
    from dossier.project import Project

    def generic(value):
        slug = getattr(value, "slug", None) if type(value).__name__ != "Later" else None
        if isinstance(slug, str):
            return slug
        if isinstance(value, Quote):
            return value.id
        if isinstance(value, (list, tuple)):
            return tuple(generic(v) for v in value)
        if isinstance(value, str):
            return str(value)
        return value if isinstance(value, (int, type(None))) else type(value).__name__
    dossier, _, _, _ = pipeline.compile_dossier(Project.at(real, jobs=1))
    specs = plan(dossier, "")
    kinds = {type(v).__name__ for spec in specs for v in (spec.context or {}).values()}
    assert {"Event", "list", "Later"} <= kinds                # records, lists, a Later
    for spec in specs:
        expected = fingerprint((spec.template, spec.title, spec.description, tuple(sorted(
            (k, generic(v)) for k, v in spec.context.items())) if spec.context else ()))
        assert signature(spec) == expected, spec.url


def test_the_code_digest_is_the_code_this_process_loaded(tmp_path, monkeypatch):
    """cache.code_digest reads the package's modules once per process: a module edited
    afterwards (while serve runs) is not the code that runs, and does not label the cache
    it writes."""
    from dossier import cache as cache_
    forget = getattr(cache_.code_digest, "cache_clear", lambda: None)
    (tmp_path / "a.py").write_text("A = 1\n")
    monkeypatch.setattr(cache_, "_CODE", tmp_path)
    forget()
    try:
        first = cache_.code_digest()
        (tmp_path / "a.py").write_text("A = 2\n")
        assert cache_.code_digest() == first
        forget()
        assert cache_.code_digest() != first
    finally:
        forget()


def _front_matter(path: Path) -> tuple[dict, str]:
    import yaml
    text = path.read_text("utf-8")
    _, head, body = text.split("---\n", 2)
    return yaml.safe_load(head), body


def _write_front_matter(path: Path, data: dict, body: str) -> None:
    import yaml
    head = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text(f"---\n{head}---\n{body}", "utf-8")


def _random_record_edit(root: Path, draw) -> None:
    """One edit of an event's front matter or body that keeps the dossier valid: who
    takes part, its date, its related events, a cited source, a quote's speaker, its
    title, or a [[link]] in its body."""
    from hypothesis import strategies as st
    events = sorted((root / "content/events").glob("*.md"))
    people = sorted(p.stem for p in (root / "content/people").glob("*.yaml"))
    orgs = sorted(p.stem for p in (root / "content/organizations").glob("*.yaml"))
    sources = sorted(p.stem for p in (root / "content/sources").glob("*.yaml"))
    path = draw(st.sampled_from(events))
    data, body = _front_matter(path)
    kind = draw(st.sampled_from(["participant+", "participant-", "date", "related+",
                                 "related-", "source", "speaker", "title", "link"]))
    participants = data.setdefault("participants", [])
    named = {p["ref"] if isinstance(p, dict) else p for p in participants}
    if kind == "participant+":
        free = [s for s in people + orgs if s not in named]
        participants.append({"ref": draw(st.sampled_from(free)),
                             "role": draw(st.sampled_from(["actor", "target", "mentioned"]))})
    elif kind == "participant-" and len(participants) > 1:
        participants.pop(draw(st.integers(0, len(participants) - 1)))
    elif kind == "date":
        data["date"] = f"{draw(st.integers(2021, 2026))}-{draw(st.integers(1, 12)):02d}-" \
                       f"{draw(st.integers(1, 28)):02d}"
    elif kind == "related+":
        related = data.setdefault("related", [])
        free = [e.stem for e in events if e != path and e.stem not in related]
        related.append(draw(st.sampled_from(free)))
    elif kind == "related-" and data.get("related"):
        data["related"].pop(draw(st.integers(0, len(data["related"]) - 1)))
        if not data["related"]:
            del data["related"]
    elif kind == "source" and data.get("sources"):
        first = data["sources"][0]
        new = draw(st.sampled_from(sources))
        if isinstance(first, dict):
            first["source"] = new
        else:
            data["sources"][0] = new
        cited = [s["source"] if isinstance(s, dict) else s for s in data["sources"]]
        if len(set(cited)) < len(cited):                  # no source cited twice
            return
    elif kind == "speaker" and data.get("quotes"):
        data["quotes"][0]["speaker"] = draw(st.sampled_from(people + orgs))
    elif kind == "title":
        data["title"] = f"{data['title']} (edited)"
    elif kind == "link":
        body = f"{body}\nSee [[{draw(st.sampled_from(people + orgs + sources))}]].\n"
    _write_front_matter(path, data, body)


@settings(max_examples=10, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_record_edits_take_the_index_entries_they_change(real, tmp_path, data,
                                                                 monkeypatch):
    """Three random edits in a row of what events name (people, dates, related events,
    sources, speakers, titles, links): each build takes again only the index entries
    its edit can have changed (incremental.touched_entries), and they are exactly what
    taking every entry gives; the site after them is a clean build's."""
    root = tmp_path / f"r{len(list(tmp_path.iterdir()))}"
    shutil.copytree(real, root)
    assert build(root).code == 0
    with monkeypatch.context() as patched:
        seen = checked_index_signatures(patched)
        for _ in range(3):
            _random_record_edit(root, data.draw)
            result = build(root)
            assert result.code == 0, result.err
    assert seen                                           # the incremental path was taken
    assert snapshot(root / "site") == clean_build(root, root / "clean")
