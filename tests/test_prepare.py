"""The front of a big build on two cores (prepare.py): files validated by two processes
give exactly what one process validating them all gives, and their problems are reported
as they would be."""

import shutil
from types import SimpleNamespace

import pytest

from conftest import REPO, run_cli, snapshot
from dossier import load, prepare as preparing, render
from dossier.load import load_content, load_templates
from dossier.pipeline import compile_dossier
from dossier.project import Project
from dossier.render import CompiledTemplates
from dossier.validate import validate

from generate import generate  # benchmarks/ (on the path: conftest)


_take = preparing._take


def prepared(root, jobs=2):
    project = Project.at(root)
    return preparing.prepare(project.content, load_templates(project.templates), {}, "", {},
                             jobs, None)


def test_two_processes_validate_every_file_as_one_does(real, monkeypatch):
    monkeypatch.setattr(preparing, "PREPARE_MIN", 1)
    monkeypatch.setattr(render, "_ENVIRONMENTS", {})           # none compiled yet
    early = prepared(real)
    loaded = load_content(real / "content")
    outcomes = []
    validate(loaded.records, [], loaded.unreadable, outcomes)
    assert early.known == {record.digest: record for record in outcomes}
    assert sorted(early.stats) == sorted(r.path for r in outcomes)
    assert isinstance(early.templates, CompiledTemplates)       # compiled by the worker
    assert early.splice is True                                 # and found splice_safe
    assert set(early.templates.stored) >= {
        early.templates.get_cache_key(name, f"templates/{name}")
        for name in load_templates(real / "templates")}
    # the load that follows parses nothing again but dossier.yaml, and links the same dossier
    expected = compile_dossier(Project.at(real))
    original = load.parse_record
    monkeypatch.setattr(load, "parse_record", lambda kind, path, *a: original(
        kind, path, *a) if kind == "site" else pytest.fail(f"parsed again: {path}"))
    found = compile_dossier(Project.at(real), early.known, early.site, early.stats)
    assert found[0] == expected[0] and found[1] == expected[1]


def test_the_load_after_prepare_neither_lists_nor_stats_its_files_again(tmp_path, monkeypatch):
    """prepare hands on its listing of content/ and the stat it took of each file it
    parsed, on either process (the parent slowed down, so that the worker takes files
    too): the load that follows lists nothing and stats only dossier.yaml, and links the
    same dossier."""
    import os
    import time
    generate(tmp_path, 300)
    real = tmp_path
    parent, validate_chunk = os.getpid(), preparing._validate
    monkeypatch.setattr(preparing, "_validate", lambda *a: (
        time.sleep(0.05) if os.getpid() == parent else None, validate_chunk(*a)))
    taken = []
    monkeypatch.setattr(preparing, "_take", lambda message, *a: (
        taken.append(message[0]), _take(message, *a)))
    early = prepared(real)
    assert "part" in taken                                   # the worker parsed files
    files = {path for _, path, _, problem in load.content_entries(real / "content")
             if problem is None and not path.endswith("dossier.yaml")}
    assert set(early.now) == files
    expected = compile_dossier(Project.at(real))
    stat = os.stat
    with monkeypatch.context() as patched:
        patched.setattr(load, "content_entries", lambda c: pytest.fail("listed again"))
        patched.setattr(load.os, "stat", lambda path, *a, **k: pytest.fail(
            f"stat again: {path}") if str(path) in files else stat(path, *a, **k))
        found = compile_dossier(Project.at(real), early.known, early.site, early.stats,
                                early.now, None, early.entries)
    assert found[0] == expected[0] and found[1] == expected[1]


def test_nothing_is_forked_for_few_files_or_one_core(real, monkeypatch):
    monkeypatch.setattr(preparing.mp, "get_context",
                        lambda *a: pytest.fail("a worker was started"))
    assert prepared(real).known == {}                            # under PREPARE_MIN files
    monkeypatch.setattr(preparing, "PREPARE_MIN", 1)
    assert prepared(real, jobs=1).known == {}


def test_problems_met_on_two_cores_are_reported_as_on_one(tmp_path):
    generate(tmp_path, 300)
    events = sorted((tmp_path / "content/events").glob("*.md"))
    events[10].write_text(events[10].read_text("utf-8").replace("title:", "title: [", 1))
    events[200].write_text(events[200].read_text("utf-8").replace("date: ", "date: 2025-13-", 1))
    (tmp_path / "content/people/person-1.yaml").write_bytes(b"name: \xff\n")
    shutil.copy(events[5], tmp_path / "content/events" / f"{events[5].stem.upper()}.md")
    one = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--jobs", "1", "--no-cache")
    two = run_cli("--root", tmp_path, "--out", tmp_path / "two", "--jobs", "2", "--no-cache")
    assert one.code == two.code == 1
    assert one.err == two.err
    for where in (f"{events[10].name}:3: invalid YAML", f"{events[200].name}:3: date:",
                  "person-1.yaml:1: not valid UTF-8",
                  "not a valid slug"):
        assert where in two.err
    assert not (tmp_path / "two").exists()


def test_a_template_syntax_error_is_reported_though_the_worker_compiled_first(tmp_path):
    generate(tmp_path, 300)
    for folder in ("templates", "assets"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    event = tmp_path / "templates/event.html"
    event.write_text(event.read_text("utf-8").replace("{% block main %}",
                                                      "{% block main %}{% if %}", 1))
    result = run_cli("--root", tmp_path, "--out", tmp_path / "site", "--jobs", "2")
    assert result.code == 1
    assert "templates/event.html:" in result.err and "site" not in {
        p.name for p in tmp_path.iterdir()}


def test_a_clean_build_on_two_cores_is_one_cores_build(tmp_path):
    generate(tmp_path, 300)
    one = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--jobs", "1", "--no-cache")
    two = run_cli("--root", tmp_path, "--out", tmp_path / "two", "--jobs", "2", "--no-cache")
    assert one.code == two.code == 0 and one.err == two.err
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_the_worker_finds_templates_that_are_not_splice_safe(tmp_path):
    """A template that filters a list here.each returns is not splice_safe: the worker
    says so, and the build on two cores, which takes its word, is one core's build."""
    generate(tmp_path, 300)
    for folder in ("templates", "assets"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    people = tmp_path / "templates/people.html"
    text = people.read_text("utf-8")
    start = text.index("{{ here.each(")
    end = text.index("}}", start)
    people.write_text(text[:end] + "|string " + text[end:], "utf-8")
    early = prepared(tmp_path)
    assert early.splice is False
    one = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--jobs", "1", "--no-cache")
    two = run_cli("--root", tmp_path, "--out", tmp_path / "two", "--jobs", "2", "--no-cache")
    assert one.code == two.code == 0 and one.err == two.err
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_a_worker_that_dies_leaves_the_work_to_the_parent(real, monkeypatch):
    import os
    monkeypatch.setattr(preparing, "PREPARE_MIN", 1)
    monkeypatch.setattr(preparing, "_worker", lambda *a: os._exit(3))
    early = prepared(real)
    assert early.known and early.templates is None
    assert compile_dossier(Project.at(real), early.known, early.site, early.stats)[0] == \
        compile_dossier(Project.at(real))[0]


def test_a_warm_cache_is_not_listed_again_but_a_new_dossier_yaml_is(real, monkeypatch):
    """After a build, the same dossier.yaml means few files to parse: nothing is forked
    (nor content/ listed twice). Another dossier.yaml sends every file through validation
    again, on both cores."""
    from dossier.cache import load_cache
    assert build_real(real) == 0
    cache = load_cache(real / ".dossier-cache")
    project = Project.at(real)
    templates = load_templates(project.templates)
    monkeypatch.setattr(preparing, "PREPARE_MIN", 1)
    listed = []
    original = preparing.content_entries
    monkeypatch.setattr(preparing, "content_entries", lambda c: listed.append(c) or original(c))
    early = preparing.prepare(project.content, templates, cache.parsed, cache.site_digest,
                              cache.stats, 2, None)
    assert listed == [] and early.known is cache.parsed
    site = real / "content/dossier.yaml"
    site.write_text(site.read_text("utf-8") + "\n", "utf-8")
    early = preparing.prepare(project.content, templates, cache.parsed, cache.site_digest,
                              cache.stats, 2, None)
    assert listed and early.site != cache.site_digest
    assert set(early.known) == {r.digest for r in load_content(real / "content").records
                                if r.kind != "site"}


def build_real(root):
    return run_cli("--root", root, "--out", root / "site").code


def test_the_files_to_parse_are_read_ahead_first(real, monkeypatch):
    """prepare hands load.prefetch every file it will parse (dossier.yaml, read first, is
    not among them), before the worker starts."""
    monkeypatch.setattr(preparing, "PREPARE_MIN", 1)
    asked = []
    start = preparing.mp.get_context("fork").Process.start
    monkeypatch.setattr(preparing, "prefetch", lambda files: asked.append(list(files)))
    monkeypatch.setattr(preparing.mp.get_context("fork").Process, "start", lambda self: (
        asked.append("worker"), start(self)))
    early = prepared(real)
    assert asked[-1] == "worker" and len(asked) == 2
    assert sorted(asked[0]) == sorted(str(real / path) for path in early.stats
                                      if not path.endswith("dossier.yaml"))


def _validated(root):
    """The real dossier's content, validated, not linked; and the dossier linked."""
    loaded = load_content(root / "content")
    content = validate(loaded.records, [], loaded.unreadable, [])
    return content, compile_dossier(Project.at(root))[0]


def _counted(monkeypatch, delay: float = 0.0):
    """Counters of the texts rendered (pages.portable, as render calls it) by forked
    workers and by this process; a worker's texts take ``delay`` seconds more each."""
    import multiprocessing
    import os
    import time
    context = multiprocessing.get_context("fork")
    here, count, mine = os.getpid(), context.Value("i", 0), context.Value("i", 0)
    original = render.portable

    def counting(*args):
        html = original(*args)
        forked = os.getpid() != here
        if forked:
            time.sleep(delay)
        with count.get_lock():
            (count if forked else mine).value += 1
        return html
    monkeypatch.setattr(render, "portable", counting)
    return count, mine


def _wait_for(count, total: int, seconds: float = 60) -> None:
    import time
    deadline = time.monotonic() + seconds
    while count.value < total and time.monotonic() < deadline:
        time.sleep(0.01)
    assert count.value == total


def _ahead_memo(real, monkeypatch, wait: int | None = None, delay: float = 0.0):
    """The real dossier's Markdown rendered by markdown_ahead, collected once the worker
    rendered ``wait`` texts (all of them: None), with what the pages would make of it,
    the texts, how many collect said it added, and the texts each process rendered."""
    from dossier import link, pages
    monkeypatch.setattr(render, "AHEAD_MIN", 1)
    monkeypatch.setattr(render, "AHEAD_CHUNK", 4)
    content, dossier = _validated(real)
    texts = pages.markdown_texts(content)
    assert len(texts) > 40 and any("[[" in text for text, _ in texts)
    count, mine = _counted(monkeypatch, delay)
    memo = {}
    with render.markdown_ahead(2) as ahead:
        ahead.start(texts, link.names_of(content))
        _wait_for(count, len(texts) if wait is None else wait)
        added = ahead.collect(memo, dossier)
    expected = {}
    for text, inline in texts:
        pages.portable(expected, dossier, text, inline)
    return SimpleNamespace(memo=memo, expected=expected, texts=texts, added=added,
                           theirs=count.value, mine=mine.value, dossier=dossier)


def test_markdown_rendered_ahead_is_what_the_pages_would_render(real, monkeypatch):
    """Once the content is validated, a forked worker takes its Markdown texts from a
    queue and renders them into memo entries (render.markdown_ahead). Given the time to
    render them all, it hands back every one, the parent renders none, and each is the
    entry the pages would make from the linked dossier: the same HTML, and a signature
    they find valid (they render none of them again)."""
    from dossier import pages
    got = _ahead_memo(real, monkeypatch)
    assert got.memo == got.expected and got.added == len(got.expected)
    assert (got.theirs, got.mine) == (len(got.texts), 0)
    assert got.dossier.rendered == {key: (html, pages.link_targets(key[1]))  # as pages keep
                                    for key, (html, _) in got.expected.items()}  # them
    monkeypatch.setattr(pages, "render_portable", lambda *a: pytest.fail("rendered again"))
    for text, inline in got.texts:
        assert pages.portable(got.memo, got.dossier, text, inline) == \
            got.expected[(inline, text)][0]


def test_collect_renders_with_the_worker_what_it_has_not_taken(real, monkeypatch):
    """Collected from a worker slowed down, once it rendered its first texts: the parent
    renders the texts the worker has not taken, and takes the worker's batches; each
    text is rendered once, by one of them, and the memo is the one the pages would
    make."""
    from dossier import pages
    got = _ahead_memo(real, monkeypatch, wait=4, delay=0.01)
    assert got.memo == got.expected and got.added == len(got.expected)
    assert got.dossier.rendered == {key: (html, pages.link_targets(key[1]))
                                    for key, (html, _) in got.expected.items()}
    assert got.theirs > 0 and got.mine > 0 and got.theirs + got.mine == len(got.texts)


def test_a_worker_that_fails_leaves_its_texts_to_the_pages(real, monkeypatch):
    """A worker failing on a text (its ninth) ends collect with what was made: every entry
    in the memo is right, and the pages render the rest."""
    import os
    here, original, tried = os.getpid(), render.portable, [0]

    def failing(*args):
        if os.getpid() != here:
            tried[0] += 1
            if tried[0] > 8:
                raise RuntimeError("failed")
        return original(*args)
    monkeypatch.setattr(render, "portable", failing)
    got = _ahead_memo(real, monkeypatch, wait=8, delay=0.01)
    assert got.theirs == 8 and 8 <= got.added < len(got.expected)
    assert all(got.expected[key] == entry for key, entry in got.memo.items())


def test_the_markdown_worker_renders_on_while_the_parent_reads_nothing(tmp_path,
                                                                     monkeypatch):
    """Until the parent collects, it reads nothing from the Markdown worker: the worker
    renders every text all the same, its batches far more than the pipe holds (left at
    64 KB here) waiting to be sent; collected, they are the memo the pages would make."""
    from dossier import link, pages
    generate(tmp_path, 300)
    content, dossier = _validated(tmp_path)
    texts = pages.markdown_texts(content)
    assert sum(len(text) for text, _ in texts) > 4 * 65536
    monkeypatch.setattr(render, "widen_pipe", lambda receive: None)
    count, mine = _counted(monkeypatch)
    memo: dict = {}
    with render.markdown_ahead(2) as ahead:
        ahead.start(texts, link.names_of(content))
        _wait_for(count, len(texts), seconds=20)
        ahead.collect(memo, dossier)
    expected: dict = {}
    for text, inline in texts:
        pages.portable(expected, dossier, text, inline)
    assert mine.value == 0 and memo == expected


def test_on_one_core_or_for_a_small_dossier_the_parent_renders_every_text_first(
        real, monkeypatch):
    """Without a worker (one core, or fewer texts than AHEAD_MIN) collect renders every
    text itself, the memo the pages would make."""
    from dossier import link, pages
    content, dossier = _validated(real)
    texts = pages.markdown_texts(content)
    expected = {}
    for text, inline in texts:
        pages.portable(expected, dossier, text, inline)
    monkeypatch.setattr(render.mp, "get_context", lambda *a: pytest.fail("a worker was started"))
    for jobs, least in ((2, len(texts) + 1), (1, 1)):
        monkeypatch.setattr(render, "AHEAD_MIN", least)
        memo = {}
        with render.markdown_ahead(jobs) as ahead:
            ahead.start(texts, link.names_of(content))
            assert ahead.collect(memo, dossier) == len(expected) and memo == expected
            assert ahead.collect(memo, dossier) == 0                  # collected once


def test_a_build_renders_its_markdown_first_and_makes_the_same_site(tmp_path, monkeypatch):
    """A clean build on two cores of 300 events renders every Markdown text once, on one
    process or the other, before any page (no page renders one, on either process), and
    is byte for byte one core's build, which renders them first too, as pages would."""
    from dossier import pages
    import multiprocessing
    generate(tmp_path, 300)
    count, mine = _counted(monkeypatch)
    late = multiprocessing.get_context("fork").Value("i", 0)
    collected, given = [], []
    start, collect, original = render.Ahead.start, render.Ahead.collect, pages.render_portable
    monkeypatch.setattr(render.Ahead, "start", lambda self, texts, *args: (
        given.append(texts), start(self, texts, *args)))

    def collecting(self, memo, names, *progress):
        collected.append(collect(self, memo, names, *progress))
        return collected[-1]
    monkeypatch.setattr(render.Ahead, "collect", collecting)

    def rendered(*args):
        if collected:
            with late.get_lock():
                late.value += 1
        return original(*args)
    monkeypatch.setattr(pages, "render_portable", rendered)
    one = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--jobs", "1", "--no-cache")
    assert collected == [len(set(given[0]))] and count.value == 0 and late.value == 0
    assert mine.value == len(given[0]) > 600
    late.value = count.value = mine.value = 0
    collected[:], given[:] = [], []
    two = run_cli("--root", tmp_path, "--out", tmp_path / "two", "--jobs", "2", "--no-cache")
    assert one.code == two.code == 0 and one.err == two.err
    assert len(given) == 1 and late.value == 0
    assert collected == [len(set(given[0]))] and count.value + mine.value == len(given[0])
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")


def test_a_build_that_fails_while_markdown_is_rendered_ahead_leaves_no_worker(tmp_path):
    """An unknown reference fails the build as it links, while the worker renders: it is
    stopped, and the error is the one a build on one core reports."""
    import multiprocessing
    import threading
    generate(tmp_path, 300)
    event = sorted((tmp_path / "content/events").glob("*.md"))[7]
    event.write_text(event.read_text("utf-8").replace(
        "participants:\n", "participants:\n  - nobody-at-all\n", 1), "utf-8")
    one = run_cli("--root", tmp_path, "--out", tmp_path / "one", "--jobs", "1", "--no-cache")
    runs = []                                   # a worker left waiting would hang the build:
    thread = threading.Thread(target=lambda: runs.append(run_cli(   # given a minute
        "--root", tmp_path, "--out", tmp_path / "two", "--jobs", "2", "--no-cache")),
        daemon=True)
    thread.start()
    thread.join(60)
    assert runs, "the build did not end"
    two = runs[0]
    assert one.code == two.code == 1 and one.err == two.err and "nobody-at-all" in two.err
    assert multiprocessing.active_children() == []
    assert not (tmp_path / "two").exists()
