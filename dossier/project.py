"""Where a dossier project keeps its inputs and output: the paths, and nothing else."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BUILTIN = Path(__file__).resolve().parent.parent
"""The repository that ships this package: its templates/ and assets/ are the default theme."""


@dataclass(frozen=True, slots=True)
class Project:
    """The folders one build reads and writes."""

    root: Path
    """Project folder (the working directory by default)."""
    content: Path
    """content/: dossier.yaml, events/, people/, organizations/, sources/."""
    templates: Path
    """Jinja templates; the built-in ones when the project has none."""
    assets: Path
    """Static files copied to site/assets/."""
    out: Path
    """Output folder, site/ by default."""
    cache: Path
    """Build cache folder, .dossier-cache/ in the project."""
    site_url: str | None = None
    """--site-url: overrides site_url in dossier.yaml (absolute URLs in feeds and meta)."""
    jobs: int = 2
    """Processes that render pages (used when there are many pages to render)."""

    @classmethod
    def at(cls, root: Path, out: Path | None = None, content: Path | None = None,
           site_url: str | None = None, jobs: int | None = None) -> "Project":
        """The project in ``root``, with optional output and content folders."""
        root = root.resolve()
        templates = root / "templates"
        assets = root / "assets"
        if not templates.is_dir():
            templates, assets = BUILTIN / "templates", BUILTIN / "assets"
        return cls(root, (content or root / "content"), templates, assets,
                   out if out is not None else root / "site", root / ".dossier-cache",
                   site_url, jobs if jobs is not None else min(2, os.cpu_count() or 1))

    def protected(self) -> list[Path]:
        """Folders an output folder must never be or contain."""
        return [self.root, self.content, self.templates, self.assets, self.cache]
