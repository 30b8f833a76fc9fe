"""Publishing: feeds, sitemap, structured data, exports and the GitHub Pages workflow."""

import csv
import io
import json
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml

from conftest import REPO, build, run_cli, soup

SITE_URL = "https://user.github.io/REPO/"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    out = tmp_path_factory.mktemp("publish") / "site"
    result = run_cli("--root", REPO, "--no-cache", "--out", out, "--site-url", SITE_URL)
    assert result.code == 0 and result.err == "", result.err
    return out


def test_atom_feed_is_wellformed_newest_first_with_absolute_urls(real):
    feed = ET.parse(real / "feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == SITE_URL + "feed.xml"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == len(list((REPO / "content/events").glob("*.md")))
    published = [e.find(f"{ATOM}published").text for e in entries]
    assert published == sorted(published, reverse=True)
    for entry in entries:
        assert entry.find(f"{ATOM}id").text.startswith(SITE_URL + "events/")
        assert entry.find(f"{ATOM}link").get("href") == entry.find(f"{ATOM}id").text
        assert entry.find(f"{ATOM}updated").text.endswith("T00:00:00Z")
        assert entry.find(f"{ATOM}summary").text
    assert feed.find(f"{ATOM}author/{ATOM}name").text


def test_sitemap_and_robots(real):
    urls = [loc.text for loc in ET.parse(real / "sitemap.xml").getroot().iter(f"{SITEMAP}loc")]
    pages = {p.relative_to(real).as_posix() for p in real.rglob("*.html")} - {"404.html"}
    assert sorted(urls) == sorted(SITE_URL + p for p in pages)
    assert (real / "robots.txt").read_text() == (
        f"User-agent: *\nAllow: /\nSitemap: {SITE_URL}sitemap.xml\n")


def test_canonical_and_open_graph(real):
    page = soup(real / "events/2025-11-03-peru-breaks-relations.html")
    url = SITE_URL + "events/2025-11-03-peru-breaks-relations.html"
    assert page.find("link", rel="canonical")["href"] == url
    meta = {m.get("property") or m.get("name"): m["content"] for m in page.find_all("meta")
            if m.get("content") is not None}
    assert meta["og:url"] == url
    assert meta["og:title"] == "Peru breaks diplomatic relations with Mexico"
    assert meta["og:site_name"] == "Peru–Mexico rupture, November 2025"
    assert meta["og:type"] == "article" and meta["twitter:card"] == "summary"
    assert meta["og:description"].startswith("President José Jerí's government cuts")


def jsonld(path):
    scripts = soup(path).find_all("script", type="application/ld+json")
    assert len(scripts) == 1, path
    return json.loads(scripts[0].string)["@graph"]


def by_type(graph, kind):
    return [node for node in graph if node["@type"] == kind]


def test_json_ld_on_every_page(real):
    for page in real.rglob("*.html"):
        if page.name != "404.html":
            assert jsonld(page), page


def test_json_ld_required_properties(real):
    event = jsonld(real / "events/2025-11-06-congress-declares-sheinbaum-persona-non-grata.html")
    article = by_type(event, "NewsArticle")[0]
    assert article["headline"] == "Peru's Congress declares Sheinbaum persona non grata"
    assert article["about"]["@type"] == "Event" and article["about"]["startDate"] == "2025-11-06"
    assert article["citation"]
    quote = by_type(event, "Quotation")[0]
    assert quote["text"] == "We support the government that has broken relations with Mexico."
    assert quote["creator"]["name"] == quote["spokenByCharacter"]["name"] == "Fernando Rospigliosi"
    assert quote["citation"][0]["name"] == "World News report, 7 November 2025"
    person = by_type(jsonld(real / "people/jose-jeri.html"), "Person")[0]
    assert person["name"] == "José Jerí" and person["jobTitle"] == "President of Peru"
    org = by_type(jsonld(real / "organizations/peru-foreign-ministry.html"), "Organization")[0]
    assert org["name"] == "Ministry of Foreign Affairs of Peru"
    assert org["parentOrganization"]["name"] == "Government of Peru"
    quotes = by_type(jsonld(real / "quotes.html"), "Quotation")
    assert len(quotes) == len(json.loads((real / "dossier.json").read_text())["quotes"])


def test_dossier_json_validates_against_its_schema(real):
    schema = json.loads((REPO / "schema/dossier.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads((real / "dossier.json").read_text())
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    broken = json.loads((real / "dossier.json").read_text())
    del broken["quotes"][0]["speaker"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_every_quote_in_the_export_is_on_its_pages_with_its_anchor(real):
    data = json.loads((real / "dossier.json").read_text())
    index = soup(real / "quotes.html")
    assert data["quotes"]
    for quote in data["quotes"]:
        path, _, anchor = quote["url"].partition("#")
        assert path == "quotes.html"
        figure = index.find(id=anchor)
        assert figure is not None, anchor
        assert figure.blockquote.get_text(strip=True) == quote["text"]
        event_page = soup(real / quote["event"]["url"])
        texts = [b.get_text(strip=True) for b in event_page.find_all("blockquote")]
        assert quote["text"] in texts
        assert quote["speaker"]["url"] and (real / quote["speaker"]["url"]).is_file()


def test_csv_exports(real):
    events = list(csv.DictReader(io.StringIO((real / "events.csv").read_text("utf-8"))))
    data = json.loads((real / "dossier.json").read_text())
    assert [row["slug"] for row in events] == [e["slug"] for e in data["events"]]
    quotes = list(csv.DictReader(io.StringIO((real / "quotes.csv").read_text("utf-8"))))
    assert {row["id"]: row["text"] for row in quotes} == {q["id"]: q["text"] for q in data["quotes"]}


def test_timelinejs_export_keeps_precision(real):
    data = json.loads((real / "timeline.json").read_text())
    assert data["title"]["text"]["headline"] == "Peru–Mexico rupture, November 2025"
    by_id = {e["unique_id"]: e for e in data["events"]}
    assert by_id["2023-peru-recalls-ambassador-to-mexico"]["start_date"] == {"year": 2023}
    assert by_id["2023-06-chavez-detained"]["start_date"] == {"year": 2023, "month": 6}
    assert by_id["2025-11-06-de-zela-asylum-review"]["start_date"] == {"year": 2025, "month": 11, "day": 6}
    assert by_id["2025-11-06-de-zela-asylum-review"]["group"] == "The Chávez case"
    assert all(e["text"]["headline"] for e in data["events"])


def test_home_links_to_the_exports(real):
    hrefs = {a["href"] for a in soup(real / "index.html").find_all("a")}
    assert {"dossier.json", "events.csv", "quotes.csv", "timeline.json", "feed.xml"} <= hrefs


def test_without_site_url_absolute_parts_are_skipped_with_one_warning(project):
    result = build(project)
    assert result.code == 0
    warnings = [line for line in result.lines if "warning" in line]
    assert warnings == ["content/dossier.yaml: warning: site_url: not set, so feed.xml, "
                        "sitemap.xml, canonical links and Open Graph URLs are left out; set "
                        "site_url in dossier.yaml or pass --site-url (the GitHub Pages "
                        "workflow does)"]
    site = project / "site"
    assert not (site / "feed.xml").exists() and not (site / "sitemap.xml").exists()
    assert (site / "robots.txt").read_text() == "User-agent: *\nAllow: /\n"
    page = soup(site / "index.html")
    assert page.find("link", rel="canonical") is None
    assert page.find("meta", property="og:url") is None
    assert "feed.xml" not in {a["href"] for a in page.find_all("a")}


def test_cname_for_a_custom_domain(project):
    path = project / "content/dossier.yaml"
    path.write_text(path.read_text() + "cname: dossier.example.org\nsite_url: https://dossier.example.org/\n")
    assert build(project).code == 0
    assert (project / "site/CNAME").read_text() == "dossier.example.org\n"
    assert soup(project / "site/index.html").find("link", rel="canonical")["href"] == \
        "https://dossier.example.org/index.html"


def test_json_ld_cannot_be_broken_out_of(project):
    event = project / "content/events/2025-11-03-break.md"
    payload = "</script><script>alert(1)</script><!--"
    event.write_text(event.read_text("utf-8").replace(
        'text: "We have decided to break relations."', f'text: "{payload}"').replace(
        "title: Relations broken", f"title: 'Broken {payload}'"), "utf-8")
    assert build(project).code == 0
    page = project / "site/events/2025-11-03-break.html"
    html = page.read_text("utf-8")
    scripts = soup(page).find_all("script", type="application/ld+json")
    assert len(scripts) == 1
    assert all("alert" not in (s.string or "") for s in soup(page).find_all("script")
               if s.get("type") != "application/ld+json")
    graph = json.loads(scripts[0].string)["@graph"]
    assert by_type(graph, "Quotation")[0]["text"] == payload
    assert "<script>alert(1)" not in html


def test_github_pages_workflow():
    workflow = yaml.safe_load((REPO / ".github/workflows/pages.yml").read_text())
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = workflow["jobs"]["build"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert uses.index("actions/configure-pages") < uses.index("actions/upload-pages-artifact")
    build_step = next(s for s in steps if s.get("name") == "Build")
    assert "--site-url" in build_step["run"] and "steps.pages.outputs.base_url" in build_step["run"]
    assert next(s for s in steps if "upload-pages-artifact" in s.get("uses", ""))["with"]["path"] == "site"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    assert deploy["environment"]["name"] == "github-pages"


def test_the_feeds_xml_escaping_is_the_standard_librarys():
    from xml.sax.saxutils import escape, quoteattr
    from dossier import feeds
    for text in ["plain", "a & b < c > d", 'say "hi"', "it's", """both ' and " here""",
                 "tab\there\nnew line\r", "&amp; already", "", "Jerí “quoted”"]:
        assert feeds.escape(text) == escape(text)
        assert feeds.quoteattr(text) == quoteattr(text)
