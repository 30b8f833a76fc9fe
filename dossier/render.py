"""Render pages with Jinja2: PageSpecs -> {Url: bytes}.

Templates come in as a {name: source} mapping read by the loader, so rendering
touches no disk. Autoescape and StrictUndefined are always on. Jinja's errors are
translated into TemplateFailure naming the template and line.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback

import jinja2

from .errors import TemplateFailure, WriteFailed
from .deps import TrackedDossier, keys
from .link import Dossier
from .pages import Here, PageSpec, SingleHere
from .urls import Url

TEMPLATE_DIR = "templates"


_ENVIRONMENTS: dict[tuple, jinja2.Environment] = {}
"""Compiled environments by template sources: a serve loop compiles each version once."""


def make_environment(templates: dict[str, str],
                     bytecode_cache: jinja2.BytecodeCache | None = None) -> jinja2.Environment:
    """The Jinja environment: our templates only, escaped, strict; compiled once per version."""
    key = tuple(sorted(templates.items()))
    if key not in _ENVIRONMENTS:
        _ENVIRONMENTS.clear()
        _ENVIRONMENTS[key] = _compile(templates, bytecode_cache)
    return _ENVIRONMENTS[key]


def _compile(templates: dict[str, str], bytecode_cache) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _source(templates, name)), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, bytecode_cache=bytecode_cache, auto_reload=False)
    env.filters["sentence"] = lambda text: text[:1].upper() + text[1:]
    try:
        for name in sorted(templates):
            env.get_template(name)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateFailure(f"{TEMPLATE_DIR}/{error.name}", error.lineno,
                              error.message or str(error)) from None
    return env


def _source(templates: dict[str, str], name: str):
    """(source, filename, uptodate) so that tracebacks name templates/<name>."""
    if name not in templates:
        return None
    return templates[name], f"{TEMPLATE_DIR}/{name}", lambda: True


def render_page(env: jinja2.Environment, dossier: Dossier, spec: PageSpec,
                memo: dict | None = None,
                fragments: dict | None = None) -> tuple[bytes, tuple[str, ...]]:
    """Render one page to UTF-8 bytes; also return every dependency key it read.

    ``memo`` is shared by the pages of a build (and across builds): Markdown is rendered
    once for every page, and charts once per folder. ``fragments`` holds the pieces of
    list pages still valid from earlier builds (Here.cached)."""
    deps = set(spec.deps)
    here = (SingleHere if spec.single else Here)(dossier, spec.url, deps, memo, fragments)
    here.tracked = TrackedDossier(dossier, deps)
    context = {"site": dossier.site, "dossier": here.tracked,
               "here": here, "title": spec.title,
               "description": spec.description, **spec.context}
    try:
        html = env.get_template(spec.template).render(context)
    except TemplateFailure:
        raise
    except jinja2.TemplateError as error:
        name, line = _template_frame(error, spec.template)
        raise TemplateFailure(name, line, f"{type(error).__name__}: {error} "
                              f"(rendering {spec.url})") from None
    return html.encode("utf-8"), keys(deps)


PARALLEL_MIN = 300
"""Below this many pages, a second process costs more than it saves."""


def _counted(specs: list[PageSpec], progress, total: int):
    """Yield specs, reporting progress as the share of ``total`` they stand for (when a
    worker renders the rest at the same pace)."""
    for done, spec in enumerate(specs, 1):
        yield spec
        if progress is not None and done % 50 == 0:
            progress(min(done * total // len(specs), total), total)


def render_all(env: jinja2.Environment, dossier: Dossier, specs: list[PageSpec], memo: dict,
               fragments: dict, workers: int = 1, progress=None, sink=None,
               side=None) -> tuple[dict[Url, tuple[object, tuple[str, ...]]], object]:
    """Render pages, on two cores when there are enough of them and fork is available;
    also run ``side()`` (the data files), and return ({url: (bytes, dependency keys)},
    what ``side`` returned).

    With a ``sink``, each page's bytes go to ``sink(url, bytes)`` as soon as it renders
    and what the sink returns is kept in their place (a clean build writes pages to its
    staging folder and keeps digests).

    On two cores, a forked worker inherits the dossier, the compiled templates and the
    sink (nothing is pickled on the way in), runs ``side`` and renders its share of the
    pages, and sends back what it made, with the Markdown and fragments it rendered. The
    single-file edition, which holds every record's Markdown, is rendered last, once the
    worker's Markdown has come back, so that no text is rendered twice.
    """
    def one(spec: PageSpec):
        html, deps = render_page(env, dossier, spec, memo, fragments)
        return (html if sink is None else sink(spec.url, html)), deps

    if workers < 2 or len(specs) < PARALLEL_MIN or "fork" not in mp.get_all_start_methods():
        made = side() if side is not None else None
        pages = {spec.url: one(spec) for spec in _counted(specs, progress, len(specs))}
        if progress is not None and len(specs) >= 50:
            progress(len(specs), len(specs))
        return pages, made
    last = [spec for spec in specs if spec.single]
    mine_specs, theirs_specs = _deal([spec for spec in specs if not spec.single],
                                     _side_weight(dossier) if side is not None else 0)
    context = mp.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_worker,
                             args=(send, one, theirs_specs, memo, fragments, side))
    worker.start()
    send.close()
    try:
        mine = {spec.url: one(spec) for spec in _counted(mine_specs, progress,
                                                         len(specs) - len(last))}
    except BaseException:
        worker.terminate()                            # it must not go on writing pages
        worker.join()
        raise
    status, payload = receive.recv()
    worker.join()
    if status == "template":
        raise TemplateFailure(*payload)
    if status == "write":
        raise WriteFailed(payload)
    if status == "error":
        raise RuntimeError(f"page rendering failed in the worker process:\n{payload}")
    pages, new_memo, new_fragments, made = payload
    memo.update(new_memo)
    fragments.update(new_fragments)
    mine.update({spec.url: one(spec) for spec in last})
    if progress is not None:
        progress(len(specs), len(specs))
    return {spec.url: mine.get(spec.url) or pages[spec.url] for spec in specs}, made


def _side_weight(dossier: Dossier) -> int:
    """The data files' cost in event pages (measured: about a quarter page per record)."""
    return (len(dossier.events) + len(dossier.people) + len(dossier.organizations)) // 4


def _deal(specs: list[PageSpec], head_start: int) -> tuple[list[PageSpec], list[PageSpec]]:
    """(mine, theirs): pages spread evenly over both, the worker taking ``head_start``
    fewer for the other work it does."""
    theirs_count = max(0, (len(specs) - head_start) // 2)
    mine, theirs = [], []
    for index, spec in enumerate(specs):
        dealt = (index + 1) * theirs_count // len(specs) - index * theirs_count // len(specs)
        (theirs if dealt else mine).append(spec)
    return mine, theirs


def _worker(send, one, specs, memo, fragments, side) -> None:
    known, known_fragments = set(memo), set(fragments)
    try:
        made = side() if side is not None else None
        pages = {spec.url: one(spec) for spec in specs}
        send.send(("ok", (pages, {k: v for k, v in memo.items() if k not in known},
                          {k: v for k, v in fragments.items() if k not in known_fragments},
                          made)))
    except TemplateFailure as error:
        send.send(("template", (error.template, error.line, error.message)))
    except WriteFailed as error:
        send.send(("write", str(error)))
    except BaseException:  # noqa: BLE001 - reported in the parent, which raises it
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()


def _template_frame(error: BaseException, default: str) -> tuple[str, int | None]:
    """The innermost template file and line in an error's traceback."""
    found = (f"{TEMPLATE_DIR}/{default}", None)
    for frame, line in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename.startswith(f"{TEMPLATE_DIR}/"):
            found = (frame.f_code.co_filename, line)
    return found
