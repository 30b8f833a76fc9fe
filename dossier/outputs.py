"""The site's files that are not pages, as data: name, and how to make it from the dossier.

Each producer returns the file's bytes, or None when the file must not exist (a feed
without a site_url). All of them depend on the whole dossier.
"""

from __future__ import annotations

from typing import Callable

from . import exports, feeds, search
from .link import Dossier
from .urls import Url

Producer = Callable[[Dossier, list[Url]], "bytes | None"]

GENERATED: tuple[tuple[Url, Producer], ...] = (
    (Url("assets/search-index.js"), lambda d, pages: search.index_script(d)),
    (Url("dossier.json"), lambda d, pages: exports.dossier_json(d)),
    (Url("events.csv"), lambda d, pages: exports.events_csv(d)),
    (Url("quotes.csv"), lambda d, pages: exports.quotes_csv(d)),
    (Url("timeline.json"), lambda d, pages: exports.timeline_json(d)),
    (Url("feed.xml"), lambda d, pages: feeds.atom_feed(d, d.site.site_url)
     if d.site.site_url else None),
    (Url("sitemap.xml"), lambda d, pages: feeds.sitemap(pages, d.site.site_url)
     if d.site.site_url else None),
    (Url("robots.txt"), lambda d, pages: feeds.robots(d.site.site_url)),
    (Url("CNAME"), lambda d, pages: f"{d.site.cname}\n".encode() if d.site.cname else None),
    (Url(".nojekyll"), lambda d, pages: b""),  # branch-published Pages: no Jekyll pass
)


def generate(dossier: Dossier, pages: list[Url]) -> dict[Url, bytes]:
    """Every generated file that should exist, by URL."""
    made = {url: produce(dossier, pages) for url, produce in GENERATED}
    return {url: data for url, data in made.items() if data is not None}
