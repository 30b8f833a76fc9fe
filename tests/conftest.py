"""Shared test helpers: fixture dossiers copied into tmp_path, in-process CLI runs, HTML parsing."""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from dossier.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = REPO.parent / "shared" / "seeds"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.err.splitlines()


def run_cli(*argv: str | Path) -> Run:
    """Run the command line in-process, capturing its output."""
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the minimal fixture dossier, safe to edit."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "minimal", root)
    return root


@pytest.fixture
def real(tmp_path: Path) -> Path:
    """A copy of the real dossier with its own templates and assets (participants,
    related events, conflicts, wikilinks: every kind of cross-reference)."""
    root = tmp_path / "real"
    for folder in ("content", "templates", "assets"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def build(root: Path, *extra: str) -> Run:
    return run_cli("--root", root, "--out", root / "site", *extra)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text("utf-8"), "html.parser")


def drop_pages(folder: Path) -> None:
    """Have the kernel forget the file pages of ``folder`` (as it does with a spare left
    unread for a while): written to disk, then dropped from memory."""
    os.sync()
    for path in [folder] if folder.is_file() else folder.rglob("*"):
        if path.is_file():
            descriptor = os.open(path, os.O_RDONLY)
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(descriptor)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path, for before/after comparisons."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the whole session (Playwright's sync API allows one)."""
    from browser import ARGS, CHROMIUM, require_chromium
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
