"""Playwright driving Debian's Chromium, and a local static server, for the browser tests."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]


def require_chromium() -> None:
    """Skip locally when Chromium is missing; in CI that is a failure, never a skip."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve_under_subpath(site: Path, root: Path, subpath: str = "REPO"):
    """Serve a copy of ``site`` at http://127.0.0.1:<port>/<subpath>/ (like GitHub Pages)."""
    www = root / "www"
    shutil.copytree(site, www / subpath)
    handler = functools.partial(_QuietHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{subpath}/"
    finally:
        server.shutdown()
        server.server_close()


class RequestLog:
    """Every request a page makes, to prove none leaves the site."""

    def __init__(self, page, allowed_prefix: str):
        self.allowed, self.outside = allowed_prefix, []
        page.on("request", self._seen)

    def _seen(self, request) -> None:
        if not request.url.startswith(self.allowed):
            self.outside.append(request.url)
