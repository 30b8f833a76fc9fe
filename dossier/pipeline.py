"""``build()``: the table of contents of the whole tool, one stage per line.

load -> validate -> link -> render -> write. Nothing touches the output until every
page has rendered; problems are collected through validate and link and reported
once, before rendering. A build that has the previous build's state (from the cache,
or from the serve loop) re-renders only the pages whose inputs changed and rewrites
only the files whose bytes changed; the result is byte-for-byte a clean build's.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from .cache import (Cache, Stamp, code_digest, load_cache, load_stamp, memo_size, save_cache,
                    save_stamp, template_cache)
from .deps import index_signatures
from .errors import ContentErrors, ContentProblem
from .incremental import (EVERYTHING, State, body_edits, changed_keys, digest, input_digests,
                          new_neighbours, next_state, same_records, stale_pages, stale_urls,
                          touched_entries, valid_fragments)
from .link import Dossier, link, names_of
from .load import Loaded, load_assets, load_content, load_templates
from .model import Content
from .outputs import SEARCH_INDEX, in_order, tasks
from .pages import (LAYOUTS_AHEAD_MIN, PageSpec, charts_ahead, fixed_pages, markdown_texts,
                    record_page, record_pages, record_urls, render_edited, take_layouts)
from .prepare import prepare
from .project import Project
from .render import (PARALLEL_MIN, Ahead, make_environment, markdown_ahead, render_all,
                     splice_safe)
from .urls import KIND_FOLDERS, Url
from .validate import validate
from .walk import Walk
from .words import counted
from .write import (Spool, Spooled, check_output_dir, file_stamps, pieces_intact,
                    read_build_id, stage_site, update_site)


WALK_AHEAD_MIN = 2000
"""From this many files in the last build's site, the inputs are walked by a child while
the cache loads (walk.Walk); fewer are walked in less time than a fork costs."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a successful build did."""

    written: int
    """Files whose bytes changed (or all files, for a clean build)."""
    rendered: int
    """Pages rendered (the others were known to be unchanged)."""
    total: int
    """Files in the site."""
    removed: int
    """Stale files deleted."""
    warnings: tuple[ContentProblem, ...]
    """Problems that did not stop the build."""
    seconds: float
    """Wall time of the build."""
    dossier: Dossier | None
    """The linked dossier, for callers that want more (None when nothing had changed)."""
    cache: Cache | None
    """State for the next build (None when nothing had changed)."""
    changed_urls: tuple[Url, ...] = ()
    """The files written, in order (what a browser should reload)."""
    search_index: int | None = None
    """Size in bytes of the search index, when this build wrote it."""
    counts: str = ""
    """'22 events, 11 people, ...'."""


def compile_dossier(project: Project, known=None, known_site: str = "", stats=None,
                    now: dict | None = None,
                    validated: Callable[[Content], None] | None = None,
                    entries: list | None = None
                    ) -> tuple[Dossier, list[ContentProblem], Loaded, list]:
    """Load, validate and link; raise ContentErrors if any error was found.

    Also returns every record with its validation outcome (for the cache: ``known``).
    ``validated(content)`` is called before the content is linked; ``entries`` and
    ``now``: content/ as just listed, and stats just taken (see load_content)."""
    loaded = load_content(project.content, known, known_site, stats, now,  # the only read
                          entries)
    problems = list(loaded.problems)
    outcomes: list = []
    content = validate(loaded.records, problems, loaded.unreadable, outcomes)
    if content is None:
        raise ContentErrors(problems)
    if validated is not None:
        validated(content)
    dossier = link(content, problems)                     # needs every record loaded
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentErrors(errors)                       # collect, then fail once
    return dossier, problems, loaded, outcomes


def with_site_url(dossier: Dossier, override: str | None,
                  problems: list[ContentProblem]) -> Dossier:
    """Apply --site-url; without any site_url, say once what is left out."""
    site = dossier.site
    if override:
        site = replace(site, site_url=override)
    if not site.site_url:
        problems.append(ContentProblem(
            site.path, None, "site_url", "not set, so feed.xml, sitemap.xml, canonical links "
            "and Open Graph URLs are left out; set site_url in dossier.yaml or pass "
            "--site-url (the GitHub Pages workflow does)", "warning"))
    return replace(dossier, site=site)


def build(project: Project, cache: Cache | None = None, use_cache: bool = True,
          progress=None) -> BuildReport:
    """Compile content/ into a complete site in project.out.

    ``progress(stage, done, total)`` is called while content files are read (a clean
    build's), pages render and data files are written (the CLI shows a counter).
    Python's cycle collector is paused meanwhile: a build makes millions of objects that
    live until it ends, and scanning them again and again took a fifth of a cold build's
    time at 10,000 events; rendering sweeps the cycles it leaves now and then instead
    (render.sweep). The collector resumes when the build ends."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        with markdown_ahead(project.jobs) as ahead:
            return _build(project, cache, use_cache, progress, ahead)
    finally:
        if collecting:
            gc.enable()


def _build(project: Project, cache: Cache | None, use_cache: bool, progress,
           ahead: Ahead) -> BuildReport:
    started = time.perf_counter()
    kept = cache is not None                              # the caller keeps the next state
    check_output_dir(project.out, project.protected())    # refuse a wrong --out before anything
    fingerprint, now, listed = None, {}, None
    if use_cache and cache is None:                       # nothing changed: nothing to do
        stamp = load_stamp(project.cache)
        if stamp is not None and stamp.total >= WALK_AHEAD_MIN:
            ahead.stand_by()                              # (while this process is small)
        walk = Walk([project.content, project.templates, project.assets],
                    f"{code_digest()} {project.site_url} {project.templates} {project.assets}",
                    project.content,                      # (on the other core, meanwhile:)
                    project.jobs if stamp is not None and stamp.total >= WALK_AHEAD_MIN else 1)
        try:
            cache = load_cache(project.cache, _told_unchanged(walk, stamp, project))
            if cache is not None:                         # (None: it stopped, unchanged)
                fingerprint, now, listed = walk.result()
        finally:
            walk.close()
        if cache is None or _unchanged(stamp, fingerprint, project):
            return BuildReport(0, 0, stamp.total, 0, stamp.warnings,
                               time.perf_counter() - started, None, None, (), None, stamp.counts)
        save_stamp(project.cache, None)                   # a killed build leaves no stale stamp
    if cache is None:
        cache = load_cache(project.cache) if use_cache else Cache(code_digest())
    templates = load_templates(project.templates)
    early = prepare(project.content, templates, cache.parsed, cache.site_digest, cache.stats,
                    project.jobs, template_cache(project.cache) if use_cache else None,
                    progress)
    cold = memo_size(cache) == 0                          # no Markdown made yet: some is
    timeline: list[bytes | None] = []                     # made ahead, while it links
    dossier, warnings, loaded, outcomes = compile_dossier(
        project, early.known, early.site, early.stats, {**now, **early.now},
        lambda content: timeline.append(_ahead(ahead, content, cold, cache.markdown)),
        listed if early.entries is None else early.entries)
    dossier = with_site_url(dossier, project.site_url, warnings)
    assets = load_assets(project.assets)
    stylesheet = assets.get("assets/style.css", b"")      # the single-file edition's
    record_digests = _record_digests(loaded)
    inputs, kinds = input_digests(dossier, record_digests, templates, cache.code)
    inputs["site"] = digest(f"{inputs['site']} {dossier.site.site_url}".encode())
    kept_state = use_cache or kept                        # someone reads the next state
    parsed = {record.digest: record for record in outcomes}
    previous = _usable_state(cache, project)
    if not kept_state:
        indexes = {}
    else:                                                 # those an edit can touch
        touched = touched_entries(previous, inputs, kinds, cache.parsed, parsed, dossier)
        indexes = index_signatures(dossier) if touched is None else \
            index_signatures(dossier, previous.indexes, touched)  # (all: 0.07 s at 10k)
    changed = changed_keys(previous, inputs, kinds, indexes,  # (a prose edit: its body's
                           body_edits(previous, inputs, cache.parsed, parsed))  # key alone)
    same = same_records(previous, kinds, changed)         # (a prose edit is one)
    fragments = spans = None                              # pieces: none kept (--no-cache)
    dropped: set[Url] = set()                             # files that lost pieces
    if kept_state:                                        # pieces nothing changed under,
        fragments, dropped = valid_fragments(            # in files as they were left
            cache.fragments, changed, _intact(project, cache) if previous else set())
        spans = {}                                        # where this build writes them
    safe = cache.splice[1] if cache.splice[:1] == (inputs["templates"],) \
        else early.splice if early.splice is not None \
        else splice_safe(templates)                       # (0.045 s: kept by digest)
    files = dict(assets)
    signatures: dict[Url, bytes] = {}                     # of the pages planned, taken once
    fixed, urls, stale = _planned(dossier, stylesheet.decode("utf-8"), previous, changed,
                                  dropped, same, signatures)
    side = None
    env = make_environment(templates, early.templates)
    memo = cache.markdown if memo_size(cache) < 8 * len(urls) + 1000 else {}
    ready = ahead.collect(memo, dossier, progress) > 0    # a clean build's Markdown, all
    take_layouts(dossier, ahead.made, *timeline)
    if previous is not None and changed:                  # an update: the Markdown of what
        render_edited(dossier, memo, [key.partition(":")[2] for key in changed  # changed,
                                      if key.startswith(("rec:", "body:"))])  # made once
    staging = stage_site(project.out, project.protected(), spans) if previous is None else None
    spool = None if staging else Spool(project.out, spans)  # large files of an update
    if changed is EVERYTHING or changed:                  # data files depend on everything:
        side = [_written(task, (staging or spool).keep)   # made beside pages, written
                for task in tasks(dossier, urls, fragments)]  # as soon as made
    else:
        files.update({url: None for url in previous.files if url not in files})
    jobs = project.jobs if len(urls) >= PARALLEL_MIN else 1  # a small site: one process
    written_all = False
    try:                                                  # a clean build streams into staging
        rendered, generated = render_all(env, dossier, stale, memo, fragments, jobs,
                                         progress, staging.keep if staging else None, side,
                                         (staging or spool).stream, spans, safe, ready)
        files.update(in_order(generated or {}))
        digests = {url: (_digest(page), deps) for url, (page, deps) in rendered.items()}
        file_digests = {url: previous.files[url] if data is None else _digest(data)
                        for url, data in files.items()}
        if kept_state:                                    # (every update's is: only a
            state = next_state(inputs, kinds, previous, urls, stale, digests, file_digests,
                               indexes, signatures)       # kept state is ever previous)
            page_digests = {url: page.digest for url, page in state.pages.items()}
        else:                                             # a clean build nobody keeps: no
            state = None                                  # state (its pages' signatures:
            page_digests = {url: found for url, (found, _) in digests.items()}  # 0.06 s)
        build_id = digest(repr(sorted(page_digests.items())).encode()
                          + repr(sorted(file_digests.items())).encode())
        if staging:                                       # every page rendered: swap it in
            for url in sorted(files):
                if not isinstance(files[url], Spooled):   # the data files are there
                    staging.put(url, files[url])
            staging.commit(build_id, page_digests.keys() | file_digests.keys())
            written, removed = sorted(page_digests.keys() | files.keys()), 0
        else:
            written, removed = _write(project, previous, state, rendered, files, build_id)
        written_all = True
    finally:
        if staging:
            staging.discard()
        freeing = spool.discard(background=written_all) if spool else None
    if kept_state:                                        # the files written anew hold
        rewritten = {spec.url for spec in stale if spec.streamed} | (generated or {}).keys()
        fragments = {key: span for key, span in fragments.items() if key[0] not in rewritten}
        fragments.update(spans)                           # their pieces where they are now
    cache = replace(cache, out=str(project.out.resolve()), build_id=build_id, state=state,
                    parsed=parsed, markdown=memo,
                    site_digest=record_digests["site"], stats=loaded.stats,
                    fragments=fragments or {}, splice=(inputs["templates"], safe),
                    spliced=file_stamps(project.out, [*(spec.url for spec in fixed
                                                        if spec.streamed), *state.files])
                    if kept_state else {})
    total = len(page_digests) + len(file_digests)
    counts = ", ".join([counted(len(dossier.events), "event"),
                        counted(len(dossier.people), "person", "people"),
                        counted(len(dossier.organizations), "organization"),
                        counted(len(dossier.sources), "source"),
                        counted(len(dossier.quotes), "quote")])
    if use_cache:
        if rendered or written or removed or previous is None:
            cache = save_cache(project.cache, cache)
        if fingerprint is not None:
            save_stamp(project.cache, Stamp(fingerprint, str(project.out.resolve()), build_id,
                                            total, counts, tuple(warnings)))
    if freeing is not None:                               # the files the update replaced
        freeing.join()
    return BuildReport(len(written), len(rendered), total, removed, tuple(warnings),
                       time.perf_counter() - started, dossier, cache, tuple(written),
                       _size(files.get(SEARCH_INDEX)), counts)


def _planned(dossier: Dossier, stylesheet: str, previous: State | None, changed, dropped,
             same: bool, signatures: dict[Url, bytes]
             ) -> tuple[list[PageSpec], list[Url], list[PageSpec]]:
    """(the pages every dossier has, every page's URL, the pages to render). When the
    site has the pages it had (same_records: a prose edit, or one of an event's title,
    people or date, or of a profile's name), only the record pages to render again are
    planned (stale_urls, record_page): those whose keys changed or that lost a block and,
    when the pages are in another order than the previous state's (a date moved an
    event, a name sorts a profile elsewhere), the events with new neighbours
    (new_neighbours); otherwise every page is, and compared with the previous build's
    (stale_pages). The pages every dossier has are compared whole either way. The
    signatures stale_pages takes go into ``signatures``."""
    fixed = fixed_pages(dossier, stylesheet)
    if not same:
        specs = fixed + record_pages(dossier)
        return fixed, [spec.url for spec in specs], stale_pages(specs, previous, changed,
                                                                dropped, signatures)
    ours = [spec.url for spec in fixed]
    urls = [*ours, *record_urls(dossier)]                 # (2-4 ms at 10,000 events)
    if urls != list(previous.pages):                      # the same pages, reordered
        events = f"{KIND_FOLDERS['event']}/"
        dropped = dropped | new_neighbours(
            [url for url in previous.pages if url.startswith(events)],
            urls[len(ours):len(ours) + len(dossier.events)])
    mine = set(ours)
    return fixed, urls, stale_pages(fixed, previous, changed, dropped, signatures) + [
        record_page(dossier, url) for url in stale_urls(previous, changed, dropped)
        if url not in mine]


def _ahead(ahead: Ahead, content: Content, cold: bool, memo: dict) -> bytes | None:
    """Start the work done on the other core while the content links: a clean build's
    Markdown (render.markdown_ahead) and, with it or for a large dossier, the timeline
    charts' layouts (pages.charts_ahead: none when the memo has them, as after an edit
    that moves no event, which then gives no worker a task). Returns the charts' key,
    when it was taken (for take_layouts)."""
    key, charts = charts_ahead(content, memo) \
        if cold or len(content.events) >= LAYOUTS_AHEAD_MIN else (None, None)
    ahead.start(markdown_texts(content) if cold else [], names_of(content) if cold else None,
                charts)
    return key


def _told_unchanged(walk: Walk, stamp, project: Project) -> Callable[[], bool] | None:
    """What load_cache asks between its files: whether the walk is done and found the
    inputs and output as the last build left them (then it stops loading)."""
    if stamp is None:
        return None
    verdict: list[bool] = []

    def unchanged() -> bool:
        if not verdict and (same := walk.unchanged_since(stamp.fingerprint)) is not None:
            verdict.append(same and _output_as_left(stamp, project))
        return bool(verdict) and verdict[0]
    return unchanged


def _unchanged(stamp, fingerprint: str, project: Project) -> bool:
    """True when the inputs and the output folder are exactly what the last build left."""
    return stamp is not None and stamp.fingerprint == fingerprint and \
        _output_as_left(stamp, project)


def _output_as_left(stamp: Stamp, project: Project) -> bool:
    """True when the output folder is the one the stamp's build wrote, as it left it."""
    return stamp.out == str(project.out.resolve()) and \
        read_build_id(project.out) == stamp.build_id


def _digest(page: bytes | Spooled) -> str:
    return page.digest if isinstance(page, Spooled) else digest(page)


def _written(task, keep):
    """A data-file task whose files are written (``keep``) as soon as it makes them."""
    return lambda: {url: keep(url, data) for url, data in task().items()}


def _size(data: bytes | Spooled | None) -> int | None:
    if isinstance(data, Spooled):
        return data.size
    return None if data is None else len(data)


def _record_digests(loaded: Loaded) -> dict[str, str]:
    return {("site" if r.kind == "site" else r.slug): r.digest for r in loaded.records}


def _intact(project: Project, cache: Cache) -> set[Url]:
    """The files holding pieces (Cache.spliced) that are as the last build left them: by
    their size and modification time or, where those differ, by every piece's bytes
    (write.pieces_intact). A `--no-cache` build that wrote the same site again leaves
    every stamp different and every piece in place: its pieces are copied by the next
    edit rather than made again (all of them took an edit at 10,000 events 5 s; checking
    the 17,000 pieces takes 0.09 s)."""
    now = file_stamps(project.out, cache.spliced)
    intact = {url for url, stamp in cache.spliced.items() if now.get(url) == stamp}
    others = {url for url in now if url not in intact}
    if others:
        spans: dict[Url, list] = {url: [] for url in others}
        for key, span in cache.fragments.items():
            if key[0] in others:
                spans[key[0]].append(span)
        intact.update(url for url, found in spans.items()
                      if pieces_intact(project.out / url, found))
    return intact


def _usable_state(cache: Cache, project: Project) -> State | None:
    """The previous state, if it describes exactly what is in the output folder now."""
    if cache.state is None or cache.out != str(project.out.resolve()):
        return None
    return cache.state if read_build_id(project.out) == cache.build_id else None


def _write(project: Project, previous: State, state: State, rendered, files,
           build_id: str) -> tuple[list[Url], int]:
    """Write only what changed since ``previous``."""
    changed = {url: html for url, (html, _) in rendered.items()
               if url not in previous.pages or previous.pages[url].digest != state.pages[url].digest}
    changed |= {url: data for url, data in files.items()
                if data is not None and previous.files.get(url) != state.files[url]}
    removed = (previous.pages.keys() | previous.files.keys()) - (state.pages.keys()
                                                                  | state.files.keys())
    if changed or removed:
        update_site(project.out, changed, removed, build_id)
    return sorted(changed), len(removed)
