"""Shared test helpers: fixture dossiers copied into tmp_path, in-process CLI runs, HTML parsing."""

from __future__ import annotations

import io
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from dossier import load
from dossier.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEEDS = REPO.parent / "shared" / "seeds"

sys.path.insert(0, str(REPO / "benchmarks"))
from run import drop_pages as benchmark_drop_pages  # noqa: E402 - benchmarks/run.py


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


def drop_pages(path: Path, sure: bool = False) -> None:
    """The benchmark's drop_pages (the kernel forgets the pages of a file, or of the files
    under a folder). ``sure``: skip the test where the file system keeps pages in memory
    whatever is asked (tmpfs), told by a file dropped beside them."""
    folder = path if path.is_dir() else path.parent
    sentinel = folder / ".dropped-sentinel"
    sentinel.write_bytes(b"x" * 8192)
    try:
        benchmark_drop_pages(path, sentinel)
        kept = load._in_memory(str(sentinel))
    finally:
        sentinel.unlink()
    if sure and kept:
        pytest.skip(f"{folder}: its file system keeps file pages in memory")


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
