"""Nothing a contributor writes can run script in a reader's browser: classic XSS payloads
in every field that reaches output, checked in pages, search index, feeds, JSON-LD,
exports and the single-file edition."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import run_cli

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)' x='",
    "</script><script>alert(1)</script><!--",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    "]]><x-evil/>",
    "{{ 7*7 }}{% raw %}",
    "=HYPERLINK(\"https://evil.example\")",
    "\u2028\u2029<x-evil>",
]
EVIL = " ".join(PAYLOADS)
MD_EVIL = EVIL + "\n\n<b onclick=alert(1)>x</b> [ok](https://example.org/a\"onmouseover=\"alert(1))"


def dump(path: Path, data: dict, body: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(f"---\n{text}---\n{body}\n" if body is not None else text, "utf-8")


@pytest.fixture(scope="module")
def evil_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("evil")
    c = root / "content"
    dump(c / "dossier.yaml", {
        "title": "T " + EVIL, "subtitle": EVIL, "summary": MD_EVIL, "author": EVIL,
        "tracks": [{"slug": "lane", "name": EVIL}],
        "key_facts": [{"label": EVIL, "value": EVIL, "note": EVIL, "sources": ["src"]}],
        "open_questions": [{"text": EVIL, "sources": ["src"]}], "key_people": ["person-a"]})
    dump(c / "sources/src.yaml", {"name": "S " + EVIL, "kind": "report", "publisher": EVIL,
                                   "description": MD_EVIL, "url": "https://example.org/?q=<script>"})
    dump(c / "organizations/org-a.yaml", {"name": "O " + EVIL, "aliases": [EVIL], "kind": EVIL,
                                          "country": EVIL, "summary": MD_EVIL, "sources": ["src"]})
    dump(c / "people/person-a.yaml", {
        "name": "P " + EVIL, "aliases": [EVIL], "country": EVIL, "party": "org-a",
        "positions": [{"title": EVIL, "organization": "org-a", "start": "2024", "note": EVIL,
                       "sources": [{"source": "src", "locator": EVIL, "note": EVIL}]}],
        "summary": MD_EVIL, "sources": ["src"]})
    for n, date in enumerate(["2025-11-03", "2025-11-04"]):
        dump(c / f"events/e{n}.md", {
            "title": f"E{n} " + EVIL, "date": date, "summary": EVIL, "location": EVIL,
            "track": "lane", "tags": [EVIL, "ok"],
            "participants": [{"ref": "person-a", "role": "actor"}, "org-a"],
            "sources": [{"source": "src", "locator": EVIL, "note": EVIL}],
            "quotes": [{"id": f"q{n}", "speaker": "person-a", "text": EVIL, "lang": "en",
                        "said": date, "occasion": EVIL, "context": EVIL, "source": "src",
                        "translation": {"text": EVIL, "by": EVIL}}],
            "conflicts": [{"field": EVIL, "note": EVIL, "versions": [
                {"text": EVIL, "sources": ["src"]}, {"text": EVIL, "sources": ["src"]}]}],
        }, MD_EVIL)
    out = root / "site"
    result = run_cli("--root", root, "--out", out, "--site-url", "https://example.org/x/")
    assert result.code == 0, result.err
    return out


OUR_SCRIPTS = {'document.documentElement.className += " js";'}


def test_pages_contain_no_active_markup_from_content(evil_site):
    pages = list(evil_site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        soup = BeautifulSoup(page.read_text("utf-8"), "html.parser")
        rel = page.relative_to(evil_site)
        for tag in soup.find_all(True):
            assert tag.name not in ("iframe", "object", "embed", "img", "x-evil", "b"), (rel, tag)
            for name, value in tag.attrs.items():
                assert not name.lower().startswith("on"), (rel, tag.name, name)
                text = " ".join(value) if isinstance(value, list) else value
                assert not text.strip().lower().startswith(("javascript:", "data:text")), (rel, name)
        for script in soup.find_all("script"):
            if script.get("type") == "application/ld+json":
                json.loads(script.string)
            elif script.get("src"):
                assert script["src"].endswith("assets/dossier.js")
            else:
                assert script.string in OUR_SCRIPTS, (rel, script)
        for style in soup.find_all("style"):
            assert rel.name == "dossier.html" and "display:none}" not in style.string
        for svg in soup.find_all("svg"):
            assert "chart" in svg.get("class", []), (rel, svg)
        assert "{{ 7*7 }}" in soup.get_text()  # shown literally, never evaluated


def test_payloads_survive_as_text(evil_site):
    text = BeautifulSoup((evil_site / "events/e0.html").read_text("utf-8"), "html.parser").get_text()
    assert "<script>alert(1)</script>" in text and "onerror=alert(1)" in text


def test_search_index_is_inert_data(evil_site):
    script = (evil_site / "assets/search-index.js").read_text("utf-8")
    prefix, suffix = "window.DOSSIER_SEARCH=", ";\n"
    assert script.startswith(prefix) and script.endswith(suffix)
    body = script[len(prefix):-len(suffix)]
    assert "<" not in body and "\u2028" not in body
    rows = json.loads(body)
    assert any("<script>alert(1)</script>" in row[1] for row in rows)


def test_feeds_and_sitemap_stay_wellformed(evil_site):
    for name in ("feed.xml", "sitemap.xml"):
        root = ET.parse(evil_site / name).getroot()
        assert not [el for el in root.iter() if "x-evil" in el.tag]
    titles = [t.text for t in ET.parse(evil_site / "feed.xml").getroot().iter("{http://www.w3.org/2005/Atom}title")]
    assert any("<script>alert(1)</script>" in (t or "") for t in titles)


def test_exports_parse_and_csv_cells_cannot_run_formulas(evil_site):
    data = json.loads((evil_site / "dossier.json").read_text("utf-8"))
    assert data["quotes"][0]["text"] == EVIL
    json.loads((evil_site / "timeline.json").read_text("utf-8"))
    for name in ("events.csv", "quotes.csv"):
        for row in csv.reader(io.StringIO((evil_site / name).read_text("utf-8"))):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@")), (name, cell)


def test_external_links_carry_noopener(evil_site):
    soup = BeautifulSoup((evil_site / "sources/src.html").read_text("utf-8"), "html.parser")
    link = soup.find("a", class_="external")
    assert link["href"] == "https://example.org/?q=<script>"
    assert set(link["rel"]) >= {"noopener", "noreferrer"}
