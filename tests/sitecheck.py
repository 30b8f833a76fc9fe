"""Follow every link of a built site: each target must be a file in the site, each #fragment
an id on the target page, and nothing may point outside the site."""

from __future__ import annotations

import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

EXTERNAL_OK = ("http://", "https://", "mailto:")


def page_ids(path: Path, cache: dict) -> set[str]:
    if path not in cache:
        cache[path] = {tag["id"] for tag in BeautifulSoup(path.read_text("utf-8"),
                                                          "html.parser").find_all(id=True)}
    return cache[path]


def broken_links(site: Path, allow_external: bool = True) -> list[str]:
    """Every link problem in a built site, as 'page: href: reason'."""
    problems, ids = [], {}
    for page in sorted(site.rglob("*.html")):
        rel_page = page.relative_to(site).as_posix()
        soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
        for tag in soup.find_all(href=True) + soup.find_all(src=True) + soup.find_all(action=True):
            link = tag.get("href") or tag.get("src") or tag.get("action")
            if tag.name == "base" or (tag.name == "link" and link == "data:,"):
                continue  # <base> on 404.html; the empty icon that prevents a favicon request
            if link.startswith(EXTERNAL_OK):
                declared = tag.name == "link" and set(tag.get("rel", [])) & {"canonical", "alternate"}
                if not allow_external or not (tag.name == "a" or declared):
                    problems.append(f"{rel_page}: {link}: request leaves the site")
                continue
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith("/"):
                problems.append(f"{rel_page}: {link}: not a relative link")
                continue
            target_rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel_page),
                                                           unquote(parts.path))) \
                if parts.path else rel_page
            if target_rel.startswith(".."):
                problems.append(f"{rel_page}: {link}: points outside the site")
                continue
            target = site / target_rel
            if not target.is_file():
                problems.append(f"{rel_page}: {link}: no such file")
                continue
            if parts.fragment and target.suffix == ".html" and \
                    parts.fragment not in page_ids(target, ids):
                problems.append(f"{rel_page}: {link}: no element with that id")
    return problems


def reachable(site: Path, start: str = "index.html") -> set[str]:
    """Pages reachable from the start page by following links."""
    seen, todo = set(), [start]
    while todo:
        rel = todo.pop()
        if rel in seen or not (site / rel).is_file() or not rel.endswith(".html"):
            continue
        seen.add(rel)
        soup = BeautifulSoup((site / rel).read_text("utf-8"), "html.parser")
        targets = [a["href"] for a in soup.find_all("a", href=True)]
        targets += [form["action"] for form in soup.find_all("form", action=True)]
        for target in targets:
            path = urlsplit(target).path
            if path and not target.startswith(EXTERNAL_OK):
                todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(rel), path)))
    return seen
