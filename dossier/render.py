"""Render pages with Jinja2: PageSpecs -> {Url: bytes}.

Templates come in as a {name: source} mapping read by the loader, so rendering
touches no disk. Autoescape and StrictUndefined are always on. Jinja's errors are
translated into TemplateFailure naming the template and line.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import itertools
import multiprocessing as mp
import os
import pickle
import queue
import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import MethodType

import jinja2

from .errors import TemplateFailure, WriteFailed
from .escaping import fast_escape, safe
from .deps import TrackedDossier, body, keys
from .link import Dossier
from .model import Event
from .markdown import renderer
from .pages import (Here, PageSpec, SingleHere, link_targets, macro_arguments, plain,
                    portable)
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


class _Context(jinja2.runtime.Context):
    """Jinja's template context, with a shorter path for the calls templates make most.

    A template's every ``{{ f(x) }}`` goes through ``Context.call``, which asks the
    callable whether it wants the context, environment or eval context passed in, by
    attribute lookups that mostly fail (and so raise and catch): a million calls at
    10,000 events, a tenth of page rendering. Here the answer is kept by type for macros
    (which take the eval context) and by function for methods; anything else takes
    Jinja's own path. What is called, and with what, is the same either way.

    Each context made while a page renders is noted, to be emptied once the page is
    made (see ``_generated``)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        made = getattr(_PAGE, "contexts", None)
        if made is not None:
            made.append(self)

    def call(__self, __obj, *args, **kwargs):  # noqa: N805 - Jinja's own signature
        kind = type(__obj)
        if kind is MethodType:
            plain = _PLAIN_FUNCTIONS.get(__obj.__func__)
            if plain is None:
                plain = _PLAIN_FUNCTIONS[__obj.__func__] = _asks_nothing(__obj)
            if not plain:
                return super().call(__obj, *args, **kwargs)
        elif kind is _Macro and _MACRO_TAKES_EVAL_CONTEXT:
            arguments = macro_arguments(__obj, args, kwargs)
            if arguments is not None:             # Macro.__call__'s own path, straight
                try:
                    html = __obj._func(*arguments)
                except StopIteration:
                    return __self.environment.undefined(
                        "value was undefined because a callable raised a StopIteration "
                        "exception")
                return safe(html) if __self.eval_ctx.autoescape else html
            args = (__obj, __self.eval_ctx, *args)
            __obj = _Macro.__call__
        else:
            return super().call(__obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception")


def _asks_nothing(method) -> bool:
    """True when Jinja would pass a bound method nothing but its arguments."""
    return not (hasattr(method, "jinja_pass_arg") or hasattr(method.__call__, "jinja_pass_arg"))


class _Template(jinja2.Template):
    """A compiled template whose output expressions are escaped by ``fast_escape``.

    Every ``{{ x }}`` of an autoescaping template compiles to ``escape(x)``, a name the
    template's module takes from Jinja's runtime: markupsafe's escape, which builds its
    result through ``Markup.__new__`` in Python (two and a half million calls at 10,000
    events, a tenth of page rendering). The template's own namespace gets the shorter
    path instead; the bytes are the same (tests compare the two).

    Its globals are a plain dict rather than Jinja's ChainMap over the environment's:
    each render and each import copies them, and a ChainMap is copied key by key in
    Python. Nothing changes the environment's globals once the templates are compiled."""

    @classmethod
    def _from_namespace(cls, environment, namespace, globals):
        namespace["escape"] = fast_escape
        return super()._from_namespace(environment, namespace, dict(globals))


_Macro = jinja2.runtime.Macro
_MACRO_TAKES_EVAL_CONTEXT = (getattr(_Macro.__call__, "jinja_pass_arg", None)
                             is jinja2.utils._PassArg.eval_context)
_PLAIN_FUNCTIONS: dict = {}


class _Environment(jinja2.Environment):
    """Jinja's environment, recording each read of an event's ``body`` by a template in
    the dependency keys of the page (or block) being made: ``body:<slug>`` (deps.py). A
    template reaches an attribute only through ``getattr`` (``x.y``) or ``getitem``
    (``x['y']``, and the ``attribute=`` of filters); both are Jinja's own but for that."""

    def getattr(self, obj, attribute: str):
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            return jinja2.Environment.getattr(self, obj, attribute)
        if attribute == "body" and type(obj) is Event:
            _read_body(obj)
        return value

    def getitem(self, obj, argument):
        if argument == "body" and type(obj) is Event:
            _read_body(obj)
        return jinja2.Environment.getitem(self, obj, argument)


def _read_body(event: Event) -> None:
    here = getattr(_PAGE, "here", None)
    if here is not None:
        here.deps.add(body(event.slug))


def _compile(templates: dict[str, str], bytecode_cache) -> jinja2.Environment:
    env = _Environment(
        loader=jinja2.FunctionLoader(lambda name: _source(templates, name)), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, bytecode_cache=bytecode_cache, auto_reload=False)
    env.context_class = _Context
    env.template_class = _Template
    env.filters["sentence"] = lambda text: text[:1].upper() + text[1:]
    try:
        for name in sorted(templates):
            env.get_template(name)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateFailure(f"{TEMPLATE_DIR}/{error.name}", error.lineno,
                              error.message or str(error)) from None
    return env


def splice_safe(templates: dict[str, str]) -> bool:
    """True when every ``here.each(...)``, ``here.cached(...)`` and ``here.jsonld(...)``
    (Here.SPLICING) in the templates is written as it is: alone in a ``{{ }}``, outside
    any macro, ``{% call %}``, ``{% filter %}`` or ``{% set %}`` block, and no block or
    include that could hold one is rendered into one of those (nor through ``self`` or
    ``super()``, unless written as it is), and ``here`` itself is never handed around.

    What those calls return is then a placeholder that stream_page replaces by the
    blocks as it writes the page (Here.cached); a template that filters, keeps or
    measures what they return would get the placeholder instead, so its pages get the
    lists themselves, made whole on every build. (0.03 s for our templates: the pipeline
    keeps the answer by the templates' digest.)"""
    env = jinja2.Environment()
    try:
        trees = [env.parse(source) for source in templates.values()]
    except jinja2.TemplateSyntaxError:
        return False
    blocks = {block.name for tree in trees for block in tree.find_all(jinja2.nodes.Block)
              if any(_splices(call, ()) or call.find(jinja2.nodes.Include)
                     for call in block.find_all(jinja2.nodes.Call))
              or block.find(jinja2.nodes.Include)}
    return all(_written_as_is(tree, False, blocks) for tree in trees)


_CAPTURING = (jinja2.nodes.Macro, jinja2.nodes.CallBlock, jinja2.nodes.FilterBlock,
              jinja2.nodes.AssignBlock)
"""Nodes whose output becomes a value instead of being written."""


def _written_as_is(node, captured: bool, blocks: set[str]) -> bool:
    nodes = jinja2.nodes
    if isinstance(node, (nodes.Block, nodes.Include)) and captured:
        return False
    if isinstance(node, nodes.Call) and _splices(node, blocks):
        return False                              # a value, not written as is
    if isinstance(node, nodes.Name) and node.name == "here":
        return False                              # here handed around (see below)
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) \
            and node.node.name == "here":
        return node.attr not in Here.SPLICING     # here.x: the method kept, or used
    if isinstance(node, nodes.Output):
        for child in node.nodes:
            if isinstance(child, nodes.Call) and _splices(child, blocks):
                if captured or not all(_written_as_is(c, captured, blocks) for c in
                                       [*child.args, *child.kwargs, *_optional(child)]):
                    return False
            elif not _written_as_is(child, captured, blocks):
                return False
        return True
    inner = captured or isinstance(node, _CAPTURING) or \
        (isinstance(node, nodes.For) and node.recursive)  # loop(...) is a value
    return all(_written_as_is(child, inner, blocks) for child in node.iter_child_nodes())


def _optional(call) -> list:
    return [node for node in (call.dyn_args, call.dyn_kwargs) if node is not None]


def _splices(call, blocks) -> bool:
    """A call whose result may hold placeholders: here.each, here.cached, here.jsonld
    (Here.SPLICING), super(), or one of ``blocks`` (those that may hold one) rendered
    through self."""
    func = call.node
    if isinstance(func, jinja2.nodes.Name):
        return func.name == "super"
    if not (isinstance(func, jinja2.nodes.Getattr) and isinstance(func.node, jinja2.nodes.Name)):
        return False
    return (func.node.name == "here" and func.attr in Here.SPLICING) or \
        (func.node.name == "self" and func.attr in blocks)


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates held in memory by Jinja's cache key, to hand from the process
    that compiled them to another (checked against each template's source on use, like
    every Jinja bytecode cache); ``inner``, the on-disk cache, is read and written too."""

    def __init__(self, stored: dict[str, bytes] | None = None,
                 inner: jinja2.BytecodeCache | None = None):
        self.stored = dict(stored or {})
        self.inner = inner

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.stored:
            bucket.bytecode_from_string(self.stored[bucket.key])
        elif self.inner is not None:
            self.inner.load_bytecode(bucket)
            if bucket.code is not None:
                self.stored[bucket.key] = bucket.bytecode_to_string()

    def dump_bytecode(self, bucket) -> None:
        self.stored[bucket.key] = bucket.bytecode_to_string()
        if self.inner is not None:
            self.inner.dump_bytecode(bucket)


def _source(templates: dict[str, str], name: str):
    """(source, filename, uptodate) so that tracebacks name templates/<name>."""
    if name not in templates:
        return None
    return templates[name], f"{TEMPLATE_DIR}/{name}", lambda: True


def render_page(env: jinja2.Environment, dossier: Dossier, spec: PageSpec,
                memo: dict | None = None, track: bool = True) -> tuple[bytes, tuple[str, ...]]:
    """Render one page to UTF-8 bytes; also return every dependency key it read (those of
    the page's own records and of what Here gave it only, without ``track``: see
    _prepared).

    ``memo`` is shared by the pages of a build (and across builds): Markdown is rendered
    once for every page, and charts once per folder."""
    template, context, deps = _prepared(env, dossier, spec, memo, None, False, track)
    with _translated(spec):
        html = env.concat(_generated(template, context))
    return html.encode("utf-8"), keys(deps)


STREAM_CHUNK = 1 << 20
"""A streamed page is encoded and written about a megabyte at a time."""


def stream_page(env: jinja2.Environment, dossier: Dossier, spec: PageSpec, memo: dict | None,
                fragments: dict | None, sink, splice: bool = False) -> tuple[str, ...]:
    """Render one page into ``sink`` (write.Sink) as it is made, never holding it whole;
    return the dependency keys it read. The single-file edition is 40 MB at 10,000
    events: rendered whole, it and its copies took 200 MB; streamed, 30 MB.

    With ``splice`` (the templates are splice_safe), the lists the template writes come
    as placeholders, each replaced here by its blocks (Here.cached): made as they are
    written, or copied from the previous file when ``fragments`` has them."""
    template, context, deps = _prepared(env, dossier, spec, memo, fragments, splice,
                                        fragments is not None)
    placed = context["here"].placed
    start = Here.PLACEHOLDER
    with _translated(spec):
        parts: list[str] = []
        size = 0
        for part in _generated(template, context):
            if start in part:
                for number, text in enumerate(part.split(start)):
                    if number:
                        label, _, text = text.partition("\x00")
                        _emit(parts, sink)
                        sink.chunks(_placed(placed, label, spec))
                    parts.append(text)
                size = STREAM_CHUNK
            else:
                parts.append(part)
                size += len(part)
            if size >= STREAM_CHUNK:
                _emit(parts, sink)
                size = 0
        _emit(parts, sink)
    if placed:
        raise TemplateFailure(f"{TEMPLATE_DIR}/{spec.template}", None,
                              f"what here.each, here.cached or here.jsonld returned was not "
                              f"written as it is (rendering {spec.url})")
    return keys(deps)


def _generated(template: jinja2.Template, context: dict) -> Iterator[str]:
    """``template.generate(context)``, with every Jinja context the page made emptied
    once it is made (in a render of EMPTYING_MIN pages or more: ``_emptying``).

    A context holds the macros its template defines (and the modules it imports 'with
    context'), and each macro holds the context in its closure: a reference cycle,
    which only the cycle collector frees, and with it the page's Here and its strings.
    Emptied (``Context.vars``: nothing reads them once the page is made; macros find
    their template's names in their closures), each context is freed by reference
    counting as the page ends: rendering every page of the 10k corpus once the Markdown
    is made took 3.42 s instead of 3.55 s with the sweeps finding them. Anything else
    left in a cycle is left to ``sweep``."""
    outer, reading = getattr(_PAGE, "contexts", None), getattr(_PAGE, "here", None)
    made = _PAGE.contexts = [] if getattr(_PAGE, "emptying", True) else None
    _PAGE.here = context.get("here")                  # whose keys an event's body read adds
    try:
        yield from template.root_render_func(template.new_context(context))
    except Exception:
        yield template.environment.handle_exception()
    finally:
        _PAGE.contexts, _PAGE.here = outer, reading
        for context in made or ():
            context.vars.clear()


_PAGE = threading.local()
"""The Jinja contexts made for the page this thread is rendering (``contexts``: see
``_generated``), and whether to empty them (``emptying``: see ``render_all``)."""


EMPTYING_MIN = 500
"""Pages a render must have for their contexts to be emptied (see ``_emptying``)."""


@contextmanager
def _emptying(pages: int):
    """Empty pages' contexts as they end (``_generated``) in a render of EMPTYING_MIN
    pages or more; in a smaller one, such as an edit's, leave their cycles to the
    collector (in serve) or to the end of the process: freeing them cost an edit at
    10,000 events 0.07 s, which it had never spent (measured, ten edits each way)."""
    outer = getattr(_PAGE, "emptying", True)
    _PAGE.emptying = pages >= EMPTYING_MIN
    try:
        yield
    finally:
        _PAGE.emptying = outer


def _placed(placed: dict, label: str, spec: PageSpec):
    """The pieces (and bytes between them) behind a placeholder, written once."""
    pieces = placed.pop(int(label), None) if label.isdigit() else None
    if pieces is None:
        raise TemplateFailure(f"{TEMPLATE_DIR}/{spec.template}", None,
                              f"what here.each, here.cached or here.jsonld returned was "
                              f"written twice or changed (rendering {spec.url})")
    return pieces


def _emit(parts: list[str], sink) -> None:
    if parts:
        sink.literal("".join(parts).encode("utf-8"))
        parts.clear()


def _prepared(env: jinja2.Environment, dossier: Dossier, spec: PageSpec, memo: dict | None,
              fragments: dict | None, splice: bool, track: bool = True
              ) -> tuple[jinja2.Template, dict, set[str]]:
    """A page's template, its context, and the set its dependency keys are recorded in.

    The template reads the dossier through a TrackedDossier, which records a key for
    each read, unless ``track`` is false: a build that keeps no state reads none of them
    (the same page, without 0.1 s of CPU for 12,700 pages)."""
    deps = set(spec.deps)
    here = (SingleHere if spec.single else Here)(dossier, spec.url, deps, memo, fragments,
                                                 splice)
    if track:
        here.tracked = TrackedDossier(dossier, deps)
    context = {"site": dossier.site, "dossier": here.tracked if track else dossier,
               "here": here, "title": spec.title,
               "description": plain(dossier, spec.description) if spec.summary
               else spec.description, **spec.context}
    return env.get_template(spec.template), context, deps


@contextmanager
def _translated(spec: PageSpec):
    """Jinja's errors while rendering ``spec`` raised as TemplateFailure (template, line)."""
    try:
        yield
    except TemplateFailure:
        raise
    except jinja2.TemplateError as error:
        name, line = _template_frame(error, spec.template)
        raise TemplateFailure(name, line, f"{type(error).__name__}: {error} "
                              f"(rendering {spec.url})") from None


PARALLEL_MIN = 300
"""Below this many pages, a second process costs more than it saves."""
CHUNK = 24
"""Pages taken from the shared queue at a time (taking costs a lock: microseconds)."""


MARKDOWN, PAGES = "rendering Markdown", "rendering pages"
SINGLE, DATA = "rendering the single-file edition", "writing data files"
"""The stages ``progress(stage, done, total)`` reports while pages render (total 0: a
stage without a count)."""


def _counted(specs: list[PageSpec], progress, total: int):
    """Yield specs, reporting progress every 50 pages (and sweeping, see ``sweep``)."""
    for done, spec in enumerate(specs, 1):
        yield spec
        if progress is not None and done % 50 == 0:
            progress(PAGES, done, total)
        if done % SWEEP_EVERY == 0:
            sweep()


def _single(one, last: list[PageSpec], progress) -> dict:
    """The single-file edition (``last``: it, or nothing), reported as its own stage."""
    if last and progress is not None:
        progress(SINGLE, 0, 0)
    return {spec.url: one(spec) for spec in last}


SWEEP_EVERY = 500
"""Pages rendered between two sweeps of the garbage they leave."""


def sweep() -> None:
    """Free the reference cycles rendering leaves, and set aside what survives.

    A build runs with Python's cycle collector paused (pipeline.build). Each page used
    to leave a few dozen objects in cycles (Jinja's context and its macros point at each
    other), and with them the page's strings: 118 MB at 10,000 events, never freed.
    ``_generated`` now empties each page's contexts as it ends, so a sweep finds
    nothing of ours; it stays for cycles anything else leaves (a template's own
    recursive macro, a Jinja made otherwise). ``gc.freeze`` then puts whatever survived
    out of the next one's way, so that each object is looked at once. render_all
    freezes the build's data as it starts, and unfreezes everything when it ends."""
    gc.collect()
    gc.freeze()


def _taking(queue: list, taken, size: int = CHUNK):
    """``chunks`` of a shared page queue, sweeping every SWEEP_EVERY pages or so."""
    for number, chunk in enumerate(chunks(queue, taken, size), 1):
        yield chunk
        if number % (SWEEP_EVERY // size) == 0:
            sweep()


def render_all(env: jinja2.Environment, dossier: Dossier, specs: list[PageSpec], memo: dict,
               fragments: dict | None, workers: int = 1, progress=None, sink=None,
               side: list | None = None, stream=None, spans: dict | None = None,
               splice: bool = False, ready: bool = False
               ) -> tuple[dict[Url, tuple[object, tuple[str, ...]]], dict | None]:
    """Render pages, on two cores when there are enough of them and fork is available;
    also run the ``side`` tasks (the data files: each returns {url: what to keep of the
    file}), and return ({url: (bytes, dependency keys)}, what the tasks returned, merged;
    None without any).

    With a ``sink``, each page's bytes go to ``sink(url, bytes)`` as soon as it renders
    and what the sink returns is kept in their place (a clean build writes pages to its
    staging folder and keeps write.Spooled). With a ``stream``, streamed pages (the
    single-file edition and the lists of every record: PageSpec.streamed) are not held
    whole but written as they render, by either process: ``stream(url, write)`` opens a
    file, calls ``write(sink)`` (write.Sink), which renders into it, and returns what is
    kept in the page's place. With ``splice`` (render.splice_safe), their lists are
    written in blocks (Here.each), made or copied from the previous file when
    ``fragments`` (the blocks still valid: incremental.valid_fragments) has them; each
    block's span is recorded in ``spans``.

    On two cores, a forked worker inherits the dossier, the compiled templates and the
    sink (nothing is pickled on the way in). Both processes take pages from one shared
    queue, a few at a time, so neither waits for the other however their speeds differ
    (a fixed split left one 3 to 5 s behind at 10,000 events: the worker's copy-on-write
    faults make its pages slower, by how much depends on the machine's load). When the
    queue is empty the worker sends back what it made, with the Markdown it rendered and
    the spans of the blocks it wrote, and starts on the side tasks, while the parent
    renders the single-file edition, which holds every record's Markdown: rendered
    last, with the worker's Markdown in the memo, no text is rendered twice. With
    ``ready`` (every text already in the memo: a clean build, markdown_ahead) there is
    nothing to wait for: the parent goes on to the single-file edition at once, and the
    worker sends what it made once it is done with the data files too (the parent
    waited 0.05-0.09 s for its pages at 10,000 events). The parent then takes side tasks
    from the same shared queue (the single-file edition and the two largest data files
    each take 1.3-2.4 s at 10,000 events: left to one process each, one waited a second
    for the other). With fewer pages than PARALLEL_MIN but data files to make (an edit),
    the parent renders the single-file edition first, without the little Markdown the
    worker makes, while the worker takes the other pages one at a time (the timeline and
    who's who take 0.1-0.3 s each at 10,000 events); then both take what pages are left
    and the data files, and the worker sends back what it made only once it is done (see
    ``_worker``). Rendered last, as it was, the single-file edition left the worker idle
    at the end of a 10k date edit while the parent rendered it (0.6 s of rendering, now
    0.53 s). The memo is not read whole first (LazyShards: what the worker made comes
    back through its update, which reads the shards it needs).
    """
    track = fragments is not None                 # else nothing keeps what pages read

    def one(spec: PageSpec):
        if spec.streamed and stream is not None:
            return streamed(spec)
        html, deps = render_page(env, dossier, spec, memo, track)
        return (html if sink is None else sink(spec.url, html)), deps

    def streamed(spec: PageSpec):
        deps = []

        def write(out) -> None:
            deps.append(stream_page(env, dossier, spec, memo, fragments, out, splice))
        return stream(spec.url, write), deps[0]

    gc.freeze()                                   # the build's data, out of sweeps' way
    try:
        with _emptying(len(specs)):
            return _render_all(one, specs, memo, {} if spans is None else spans, workers,
                               progress, side, fragments or {}, ready)
    finally:
        gc.unfreeze()


def _render_all(one, specs: list[PageSpec], memo: dict, spans: dict, workers: int,
                progress, side: list | None, fragments: dict, ready: bool):
    shared = len(specs) >= PARALLEL_MIN           # else only the data files are shared
    awaited = shared and not ready                # the worker's Markdown, for the single file
    if workers < 2 or "fork" not in mp.get_all_start_methods() or \
            not (shared or (side and specs)):
        made = _run(side, progress=progress) if side is not None else None
        pages = {spec.url: one(spec) for spec in _counted(specs, progress, len(specs))}
        if progress is not None and len(specs) >= 50:
            progress(PAGES, len(specs), len(specs))
        return pages, made
    last = [spec for spec in specs if spec.single]
    queue = [spec for spec in specs if not spec.single]
    if shared:
        size = CHUNK
        read_all = getattr(memo, "load_all", None)    # a memo read from the cache as needed:
        if read_all is not None:                      # read it all first, so the worker
            read_all()                                # sends back only what it rendered
        renderer()                                    # Markdown's, made once for both
    else:                                         # an edit: a few pages, some of them the
        size = 1                                  # lists of every record, taken one by one
    context = mp.get_context("fork")
    taken, side_taken = context.Value("q", 0), context.Value("q", 0)
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_worker,
                             args=(send, one, (queue, taken, size), memo, (spans, fragments),
                                   (side or [], side_taken), (os.getpid(), receive), awaited))
    worker.start()
    send.close()
    try:
        mine = {}
        if not shared:                            # an edit: the single-file edition first
            mine.update(_single(one, last, progress))   # (the worker's Markdown is little,
        for chunk in _taking(queue, taken, size):       # not awaited)
            mine.update((spec.url, one(spec)) for spec in chunk)
            if progress is not None:
                progress(PAGES, min(taken.value, len(queue)), len(queue))
        if progress is not None and queue:
            progress(PAGES, len(queue), len(queue))   # every page taken, the rest the worker's
        stores = (memo, _Spans(spans, fragments))
        if awaited:                               # the worker's Markdown first
            pages = _received(receive, stores)
            mine.update(_single(one, last, progress))
            made = _run(side or [], side_taken, progress)
        else:                                     # no Markdown to wait for: nothing
            if shared:                            # read from the worker until done
                mine.update(_single(one, last, progress))
            made = _run(side or [], side_taken, progress)
            pages = _received(receive, stores)
        made.update(_received(receive, stores))
    except BaseException:
        worker.terminate()                            # it must not go on writing pages
        raise
    finally:
        worker.join()
    return ({spec.url: mine.get(spec.url) or pages[spec.url] for spec in specs},
            made if side is not None else None)


@contextmanager
def markdown_ahead(jobs: int) -> Iterator["Ahead"]:
    """A clean build's Markdown, rendered before any page, on both cores when there are
    two.

    Between validating and rendering, a clean build on two cores links, plans and
    readies its pages on one (0.5 s at 10,000 events) while the other has nothing to do.
    ``start(texts, names)``, once the content is validated, forks a worker that takes
    texts (pages.markdown_texts) from a queue and renders them into the memo's portable
    HTML, sending each batch at once. The parent, once ready to render, calls
    ``collect(memo, names)``: it renders the texts left in the same queue, taking the
    worker's batches in between, until every text is in the memo. The pages then render
    no Markdown, on either process (the render's worker, forked after, inherits the
    memo), and the single-file edition has all of it without waiting for the worker.
    Without a worker (one core, or fewer texts than AHEAD_MIN), ``collect`` renders them
    all.

    Rendering every text first and the pages after makes the same HTML as rendering
    each text when its first page asks for it, with less CPU: on one core, 0.4 s less of
    10.3 s at 10,000 events, the Markdown parser's code and the templates' each staying in
    the processor's caches while they run. The worker is gone when the block ends,
    whatever happened."""
    ahead = Ahead(jobs)
    try:
        yield ahead
    finally:
        ahead.close()


AHEAD_MIN = PARALLEL_MIN
"""Below this many texts no worker is forked (the render would not share its pages
either): collect renders them all."""
AHEAD_CHUNK = 64
"""Texts taken from the shared queue at a time (about 6 ms of rendering), and sent back
as one batch."""


class Ahead:
    """The texts of markdown_ahead and their worker, once started (at most once), until
    collected or closed."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.worker = self.receive = self.texts = self.taken = None
        self.made = None
        """What the worker's other task made (see ``start``), once collected."""
        self.standby = None
        """(process, the pipe a task goes down) of a worker forked by ``stand_by``."""

    def stand_by(self) -> None:
        """Fork now, while this process is small (an update, before it reads the cache), a
        worker that waits for ``start``'s task: an update that moves an event hands it the
        timeline charts to lay out and draw, from plain values (pages.charts_ahead). A
        worker forked once the content was read shared its 150 MB with the parent, whose
        linking and planning then met copy-on-write faults: 16,000 more in a 10k date
        edit, and 0.09 s. One that gets no task ends with the build."""
        if self.jobs < 2 or "fork" not in mp.get_all_start_methods() or self.standby:
            return
        context = mp.get_context("fork")
        tasks, handed = context.Pipe(duplex=False)
        self.receive, send = context.Pipe(duplex=False)
        worker = context.Process(target=_standing_by, args=(
            tasks, send, (os.getpid(), self.receive), handed))
        worker.start()
        tasks.close()
        send.close()
        self.standby = (worker, handed)

    def start(self, texts: list[tuple[str, bool]], names, task=None) -> None:
        """Fork the worker for ``texts`` and, first, ``task``: a function it calls, whose
        result (plain values) ``collect`` leaves in ``made`` (the timeline charts' layouts,
        pages.charts_ahead). With no texts, ``task`` goes to the worker standing by
        (``stand_by``), else one is forked for it alone."""
        if self.texts is not None:
            return
        self.texts, self.taken = texts, _Count()
        if self.standby is not None and not texts and task is not None:
            worker, handed = self.standby
            self.standby = None
            try:
                handed.send(task)
                self.worker = worker
                widen_pipe(self.receive)
                return
            except (OSError, ValueError, pickle.PicklingError):
                self._stop_standing_by(worker, handed)  # it is gone: fork one instead
            finally:
                handed.close()
        self._stop_standing_by()
        if self.jobs < 2 or "fork" not in mp.get_all_start_methods() or (
                len(texts) < AHEAD_MIN and (texts or task is None)):
            return                                # one core, or few texts: collect renders
        if texts:
            renderer()                            # made once, for the worker too
        context = mp.get_context("fork")
        self.taken = context.Value("q", 0)
        self.receive, send = context.Pipe(duplex=False)
        self.worker = context.Process(target=_ahead, args=(
            send, texts, names, self.taken, (os.getpid(), self.receive), task))
        self.worker.start()
        send.close()
        widen_pipe(self.receive)

    def collect(self, memo: dict, names, progress=None) -> int:
        """Render the texts the worker has not taken (all of them without a worker) into
        ``memo`` (``names``: the linked dossier), with what the worker rendered; return
        how many texts are now in the memo that were not (none when nothing was started:
        the pages render them). A worker that failed leaves its texts to the pages.
        ``progress`` is told how many texts either process has taken."""
        if self.texts is None or not (self.texts or self.worker):
            return 0
        before, receive, finished = _mark(memo), self.receive, self.worker is None
        total, made = len(self.texts), {}
        try:
            for chunk in chunks(self.texts, self.taken, AHEAD_CHUNK):
                for text, inline in chunk:
                    targets = link_targets(text)
                    made[inline, text] = portable(memo, names, text, inline, targets), targets
                while not finished and receive.poll():
                    finished = self._batch(receive.recv(), memo, made)
                if progress is not None:
                    progress(MARKDOWN, min(self.taken.value, total), total)
            if progress is not None and total:        # every text taken, the rest the worker's
                progress(MARKDOWN, total, total)
            while not finished:
                finished = self._batch(receive.recv(), memo, made)
        except EOFError:                          # it failed: nothing more to take
            pass
        if self.worker is not None:
            self._end()
        self.texts = None
        names.rendered.update(made)               # made for these names: no page checks them
        return _mark(memo) - before

    def _batch(self, message: tuple, memo: dict, made: dict) -> bool:
        """Put a batch from the worker into ``memo``, and its texts' HTML and link targets
        into ``made`` (as Dossier.rendered keeps them), or its task's result in
        ``self.made``; True for its last message."""
        status, batch = message
        if status == "made":
            self.made = batch
            return False
        memo.update(batch)
        made.update((key, (html, tuple(part[0] for part in signature)))
                    for key, (html, signature) in batch.items())
        return status == "done"

    def close(self) -> None:
        """Stop the worker if the build ended before collecting (it may wait on a full
        pipe), and the one standing by if it got no task."""
        self._stop_standing_by()
        if self.worker is not None:
            self.worker.terminate()
            self._end()

    def _stop_standing_by(self, *standby) -> None:
        """End the worker standing by (``standby``: that one, already taken): told there
        is no task (a closed pipe would not tell it while a process forked since holds
        the pipe too), it ends at once."""
        worker, handed = standby or self.standby or (None, None)
        self.standby = None
        if worker is None:
            return
        try:
            handed.send(None)
        except (OSError, ValueError):
            worker.terminate()
        handed.close()
        worker.join()
        if self.worker is None and self.receive is not None:
            self.receive.close()
            self.receive = None

    def _end(self) -> None:
        self.worker.join()
        self.receive.close()
        self.worker = None


class _Count:
    """A counter only this process takes from (``chunks``, without a worker)."""

    value = 0

    def get_lock(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()


def _standing_by(tasks, send, parent, handed) -> None:
    """Ahead.stand_by's worker: wait for a task, then run it as ``_ahead`` does; a closed
    pipe instead ends it."""
    handed.close()                                  # the parent's end
    die_with_parent(parent)
    try:
        task = tasks.recv()
    except (EOFError, OSError):
        return
    finally:
        tasks.close()
    if task is not None:
        _ahead(send, [], None, _Count(), None, task)


def _ahead(send, texts: list[tuple[str, bool]], names, taken, parent, task=None) -> None:
    """Run ``task``, if any, and send what it made; then render texts from the shared
    queue, each chunk's memo entries sent at once by a thread of their own
    (``_sending``): until the parent collects, it reads nothing, and a worker sending
    them itself waited with a full pipe (0.28 s of its 1.6 s at 10,000 events). (No
    ``parent``: the caller has called die_with_parent.)"""
    if parent is not None:
        die_with_parent(parent)
    outbox: queue.SimpleQueue = queue.SimpleQueue()
    sender = threading.Thread(target=_sending, args=(send, outbox), daemon=True)
    sender.start()
    try:
        if task is not None:
            outbox.put(("made", task()))
        for chunk in chunks(texts, taken, AHEAD_CHUNK):
            made: dict = {}
            for text, inline in chunk:
                portable(made, names, text, inline)
            outbox.put(("part", made))
        outbox.put(("done", {}))
    except BaseException:  # noqa: BLE001 - the pages render what is missing
        pass
    finally:
        outbox.put(None)
        sender.join()
        send.close()


def _sending(send, outbox: queue.SimpleQueue) -> None:
    """Send each message put in ``outbox`` until None; a parent gone ends it."""
    try:
        while (message := outbox.get()) is not None:
            send.send(message)
    except OSError:
        pass


def widen_pipe(receive) -> None:
    """Let a worker's messages wait in a 1 MB pipe rather than 64 KB, so that it never
    waits for the parent to finish a chunk and read them (Linux; elsewhere a no-op)."""
    try:
        import fcntl
        fcntl.fcntl(receive.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def _run(tasks: list, taken=None, progress=None) -> dict:
    """Run tasks (all of them, or with a shared counter those this process takes) and
    merge what they return; ``progress`` is told how many are done here or, with a shared
    counter, taken by either process (once this process finds none left: all of them)."""
    def report(done: int) -> None:
        if progress is not None and tasks:
            progress(DATA, done if taken is None else min(taken.value, len(tasks)), len(tasks))
    made: dict = {}
    report(0)
    for done, task in enumerate(itertools.chain.from_iterable(
            [tasks] if taken is None else chunks(tasks, taken, 1)), 1):
        made.update(task())
        report(done)
    if taken is not None:
        report(len(tasks))                        # the counter is past the end by now
    return made


def chunks(queue: list, taken, size: int = CHUNK):
    """Take ``size`` items at a time from a queue two processes share (``taken``: a
    shared counter), until it is empty."""
    while True:
        with taken.get_lock():
            start = taken.value
            taken.value = start + size
        if start >= len(queue):
            return
        yield queue[start:start + size]


def _received(receive, stores: tuple):
    """The worker's next result, or its failure raised here; the Markdown and the spans of
    pieces it sends ahead of it, in batches, go into ``stores`` (memo, spans)."""
    status, payload = receive.recv()
    while status == "part":
        stores[payload[0]].update(payload[1])
        status, payload = receive.recv()
    if status == "template":
        raise TemplateFailure(*payload)
    if status == "write":
        raise WriteFailed(payload)
    if status == "error":
        raise RuntimeError(f"page rendering failed in the worker process:\n{payload}")
    return payload


def die_with_parent(parent: tuple) -> None:
    """In a forked worker, given (the parent's pid, the parent's end of the pipe): close
    that end, so that a send to a parent that died fails instead of waiting forever, and
    be killed as soon as the parent dies, so that a build killed outright leaves no
    process behind writing into its staging folder (Linux's PR_SET_PDEATHSIG)."""
    pid, receive = parent
    receive.close()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != pid:                         # it died before we asked
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _worker(send, one, pages_queue, memo, spans, side, parent, awaited: bool = True) -> None:
    """Render pages from the shared queue (``pages_queue``: (pages, shared counter, pages
    taken at a time)), send them back with the Markdown made meanwhile and the spans of
    the pieces written (these in batches, ahead), then run side tasks from theirs
    (``side``: (tasks, shared counter)) and send what they made, with their spans
    (``spans``: (where this process records them, the blocks still valid from the
    previous build: see ``_moved``)).

    Unless the parent awaits the pages before going on (``awaited``: it wants their
    Markdown for the single-file edition), the side tasks run first: the parent reads
    nothing until it is done with the single-file edition, and a worker sending first
    waited for it with a full pipe (0.18 s of a 10,000-event title edit, the spans of the
    timeline's blocks being more than the pipe holds)."""
    die_with_parent(parent)
    spans, fragments = spans
    known = [_mark(memo), _mark(spans)]

    def added(store: int, entries: dict) -> dict:
        """What was set in ``entries`` since it was last asked: the keys a LazyShards
        memo lists as made (not those it read from its shards), or, in a plain dict,
        those past the last mark (a dict keeps its keys in the order they came, and
        these only grow: no key is compared)."""
        made = getattr(entries, "made", None)
        if made is None:
            found = dict(itertools.islice(entries.items(), known[store], None))
        else:
            found = {key: dict.__getitem__(entries, key) for key in made[known[store]:]}
        known[store] = _mark(entries)
        return found
    try:
        pages = {}
        for chunk in _taking(*pages_queue):
            pages.update((spec.url, one(spec)) for spec in chunk)
        made = None if awaited else _run(*side)
        _send_batches(send, 0, added(0, memo))
        _send_batches(send, 1, _moved(added(1, spans), fragments))
        send.send(("ok", pages))
        if made is None:
            made = _run(*side)
            _send_batches(send, 1, _moved(added(1, spans), fragments))
        send.send(("ok", made))
    except TemplateFailure as error:
        send.send(("template", (error.template, error.line, error.message)))
    except WriteFailed as error:
        send.send(("write", str(error)))
    except BaseException:  # noqa: BLE001 - reported in the parent, which raises it
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()


def _moved(spans: dict, fragments: dict) -> dict:
    """The spans of the blocks a worker wrote, to send back, with each block it copied
    from the previous file as its new offset alone: the parent has the rest of it, its
    length, dependency keys and digest, in the same ``fragments`` (an edit at 10,000
    events sent 9,000 spans with their keys, 4 MB, for a few made anew)."""
    moved = {}
    for key, span in spans.items():
        old = fragments.get(key)
        moved[key] = span[0] if old is not None and old[1:] == span[1:] else span
    return moved


class _Spans:
    """The parent's store of spans, where the worker's arrive (``_moved`` undone)."""

    def __init__(self, spans: dict, fragments: dict):
        self.spans, self.fragments = spans, fragments

    def update(self, batch: dict) -> None:
        fragments = self.fragments
        self.spans.update({key: (span, *fragments[key][1:]) if type(span) is int else span
                           for key, span in batch.items()})


def _mark(entries: dict) -> int:
    made = getattr(entries, "made", None)
    return len(entries) if made is None else len(made)


BATCH = 2000
"""Markdown texts or spans of pieces per message from the worker: a few megabytes. Sent in
one message, the data files' pieces of a 10,000-event build (65 MB pickled, when they
were kept as bytes) were held twice in the parent at once, as the message and as what
it holds (a first build's peak)."""


def _send_batches(send, store: int, entries: dict) -> None:
    """Send ``entries`` for the parent's store number ``store`` (0: the memo, 1: the
    spans) as ("part", (store, batch)) messages of BATCH entries."""
    batch: dict = {}
    for key, value in entries.items():
        batch[key] = value
        if len(batch) == BATCH:
            send.send(("part", (store, batch)))
            batch = {}
    if batch:
        send.send(("part", (store, batch)))


def _template_frame(error: BaseException, default: str) -> tuple[str, int | None]:
    """The innermost template file and line in an error's traceback."""
    found = (f"{TEMPLATE_DIR}/{default}", None)
    for frame, line in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename.startswith(f"{TEMPLATE_DIR}/"):
            found = (frame.f_code.co_filename, line)
    return found
