"""Atom feed, sitemap and robots.txt: the files crawlers and feed readers fetch.

These are the places where standards demand absolute URLs, so they are built only
when the dossier has a site_url (robots.txt is always written; its Sitemap line only
with one). Dates are formatted by our own code: a partial date stands for its first day.
"""

from __future__ import annotations

from .dates import PartialDate
from .deps import joined, pieces
from .link import Dossier
from .model import Event
from .pages import plain
from .urls import Url, absolute, page_url


def timestamp(date: PartialDate) -> str:
    """RFC 3339 timestamp of a date's first day (Atom needs a full timestamp)."""
    first = date.first_day()
    return f"{first.year:04d}-{first.month:02d}-{first.day:02d}T00:00:00Z"


def escape(text: str) -> str:
    """XML character data: &, < and > escaped (as xml.sax.saxutils.escape, whose module
    imports urllib, http, email and ssl: 16 ms of every build's start-up)."""
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")


def quoteattr(text: str) -> str:
    """An XML attribute value with its quotes (as xml.sax.saxutils.quoteattr)."""
    text = escape(text).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return '"{}"'.format(text.replace('"', "&quot;"))


def updated(event: Event) -> PartialDate:
    """When an event's entry last changed: its 'updated' date, or the event's own date."""
    return event.updated or event.when.start


def atom_feed(dossier: Dossier, site_url: str,
              fragments: dict | None = None) -> list[bytes]:
    """The events as an Atom 1.0 feed, newest first."""
    site = dossier.site
    events = sorted(dossier.events, key=lambda e: (e.when.sort_key(), e.slug), reverse=True)
    newest = max((updated(e) for e in events), default=site.as_of or PartialDate(1970))
    author = escape(site.author or f"{site.title} editors")
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(site.language)}>',
             f"  <title>{escape(site.title)}</title>"]
    if site.subtitle:
        lines.append(f"  <subtitle>{escape(site.subtitle)}</subtitle>")
    lines += [f"  <id>{escape(absolute(site_url, Url('index.html')))}</id>",
              f'  <link rel="alternate" type="text/html" '
              f'href={quoteattr(absolute(site_url, Url("index.html")))}/>',
              f'  <link rel="self" type="application/atom+xml" '
              f'href={quoteattr(absolute(site_url, Url("feed.xml")))}/>',
              f"  <updated>{timestamp(newest)}</updated>",
              f"  <author><name>{author}</name></author>",
              "  <generator>dossier</generator>"]
    entries = pieces(dossier, fragments, "feed.xml", "entries", events,
                     lambda tracked, event: _entry(tracked, site_url, event), b"\n")
    return [*joined(b"\n", [line.encode("utf-8") for line in lines]), b"\n", *entries,
            *([b"\n"] if entries else []), b"</feed>\n"]


def _entry(dossier, site_url: str, event: Event) -> str:
    url = absolute(site_url, page_url("event", event.slug))
    return "\n".join(["  <entry>",
                      f"    <title>{escape(event.title)}</title>",
                      f"    <id>{escape(url)}</id>",
                      f'    <link rel="alternate" type="text/html" href={quoteattr(url)}/>',
                      f"    <published>{timestamp(event.when.start)}</published>",
                      f"    <updated>{timestamp(updated(event))}</updated>",
                      f'    <summary type="text">{escape(event.when.human())}: '
                      f"{escape(plain(dossier, event.summary))}</summary>",
                      *(f"    <category term={quoteattr(tag)}/>" for tag in event.tags),
                      "  </entry>"])


def sitemap(urls: list[Url], site_url: str) -> bytes:
    """sitemap.xml listing every page but the 404 page."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for url in sorted(u for u in urls if u.endswith(".html") and u != "404.html"):
        lines.append(f"  <url><loc>{escape(absolute(site_url, url))}</loc></url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def robots(site_url: str | None) -> bytes:
    """robots.txt: everything may be crawled; the sitemap's address when it exists."""
    text = "User-agent: *\nAllow: /\n"
    if site_url:
        text += f"Sitemap: {absolute(site_url, Url('sitemap.xml'))}\n"
    return text.encode("utf-8")
