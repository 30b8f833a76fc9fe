"""Render pages with Jinja2: PageSpecs -> {Url: bytes}.

Templates come in as a {name: source} mapping read by the loader, so rendering
touches no disk. Autoescape and StrictUndefined are always on. Jinja's errors are
translated into TemplateFailure naming the template and line.
"""

from __future__ import annotations

import traceback

import jinja2

from .errors import TemplateFailure
from .deps import TrackedDossier
from .link import Dossier
from .pages import Here, PageSpec, SingleHere, plan
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
                memo: dict | None = None) -> tuple[bytes, frozenset[str]]:
    """Render one page to UTF-8 bytes; also return every dependency key it read.

    ``memo`` is shared by the pages of a build (and across builds): Markdown rendered
    for one page is reused by every page in the same folder."""
    deps = set(spec.deps)
    here = (SingleHere if spec.single else Here)(dossier, spec.url, deps, memo)
    context = {"site": dossier.site, "dossier": TrackedDossier(dossier, deps),
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
    return html.encode("utf-8"), frozenset(deps)


def render_site(templates: dict[str, str], dossier: Dossier) -> dict[Url, bytes]:
    """Render every page of the plan."""
    env, memo = make_environment(templates), {}
    return {spec.url: render_page(env, dossier, spec, memo)[0] for spec in plan(dossier)}


def _template_frame(error: BaseException, default: str) -> tuple[str, int | None]:
    """The innermost template file and line in an error's traceback."""
    found = (f"{TEMPLATE_DIR}/{default}", None)
    for frame, line in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename.startswith(f"{TEMPLATE_DIR}/"):
            found = (frame.f_code.co_filename, line)
    return found
