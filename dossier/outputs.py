"""The site's files that are not pages, as data: name, and how to make it from the dossier.

Each producer returns the file's bytes (or chunks of them), or None when the file must
not exist (a feed without a site_url). All of them depend on the whole dossier.
"""

from __future__ import annotations

from typing import Callable

from . import exports, feeds, search
from .link import Dossier
from .urls import Url

Producer = Callable[[Dossier, list[Url], dict | None], "bytes | list | None"]
"""(dossier, page URLs, fragments: per-record pieces still valid in the previous build's
files, or None to keep none, see deps.pieces) -> the file's bytes, or chunks of them
(bytes and pieces) to write one after the other (a large file is never joined in
memory: dossier.json is 35 MB at 10,000 events), or None."""

SEARCH_INDEX = search.SEARCH_INDEX

GENERATED: tuple[tuple[Url, Producer], ...] = (
    (SEARCH_INDEX, lambda d, pages, f: search.index_script(d, f)),
    (Url("dossier.json"), lambda d, pages, f: exports.dossier_json(d, f)),
    (Url("events.csv"), lambda d, pages, f: exports.events_csv(d, f)),
    (Url("quotes.csv"), lambda d, pages, f: exports.quotes_csv(d, f)),
    (Url("timeline.json"), lambda d, pages, f: exports.timeline_json(d, f)),
    (Url("feed.xml"), lambda d, pages, f: feeds.atom_feed(d, d.site.site_url, f)
     if d.site.site_url else None),
    (Url("sitemap.xml"), lambda d, pages, f: feeds.sitemap(pages, d.site.site_url)
     if d.site.site_url else None),
    (Url("robots.txt"), lambda d, pages, f: feeds.robots(d.site.site_url)),
    (Url("CNAME"), lambda d, pages, f: f"{d.site.cname}\n".encode() if d.site.cname else None),
    (Url(".nojekyll"), lambda d, pages, f: b""),  # branch-published Pages: no Jekyll pass
)


def tasks(dossier: Dossier, pages: list[Url], fragments: dict | None = None) -> list:
    """The generated files as independent tasks in GENERATED's order (the two that take
    longest, 1.3-1.5 s each at 10,000 events, first), each returning {url: bytes or
    chunks}, empty for a file that must not exist: two processes can share them out
    (render_all)."""
    def task(url: Url, produce: Producer):
        def run() -> dict:
            data = produce(dossier, pages, fragments)
            return {} if data is None else {url: data}
        return run
    return [task(url, produce) for url, produce in GENERATED]


def in_order(made: dict[Url, object]) -> dict[Url, object]:
    """Generated files in GENERATED's order, however the tasks were shared out."""
    return {url: made[url] for url, _ in GENERATED if url in made}
