"""``build()``: the table of contents of the whole tool, one stage per line.

load -> validate -> link -> render -> write. Nothing touches the output until every
page has rendered; problems are collected through validate and link and reported
once, before rendering.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from .errors import ContentErrors, ContentProblem
from .link import Dossier, link
from .load import load_assets, load_content, load_templates
from .project import Project
from .render import render_site
from .urls import Url
from .validate import validate
from .write import write_site


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a successful build did."""

    pages: int
    """Files written."""
    warnings: tuple[ContentProblem, ...]
    """Problems that did not stop the build."""
    seconds: float
    """Wall time of the build."""
    dossier: Dossier
    """The linked dossier, for callers that want more (check, serve)."""


def compile_dossier(project: Project) -> tuple[Dossier, list[ContentProblem]]:
    """Load, validate and link; raise ContentErrors if any error was found."""
    loaded = load_content(project.content)                # the only read of content/
    problems = loaded.problems
    content = validate(loaded.records, problems, loaded.unreadable)
    if content is None:
        raise ContentErrors(problems)
    dossier = link(content, problems)                     # needs every record loaded
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentErrors(errors)                       # collect, then fail once
    return dossier, problems


def build(project: Project) -> BuildReport:
    """Compile content/ into a complete site in project.out, atomically."""
    started = time.perf_counter()
    dossier, warnings = compile_dossier(project)
    templates = load_templates(project.templates)
    files = render_site(templates, dossier)               # every page before any write
    files.update(load_assets(project.assets))
    files[Url(".nojekyll")] = b""                          # GitHub Pages: serve files as-is
    written = write_site(project.out, files, project.protected())
    return BuildReport(written, tuple(warnings), time.perf_counter() - started, dossier)
