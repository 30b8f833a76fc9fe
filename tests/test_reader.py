"""Reader features in headless Chromium, from disk and from a server under a sub-path:
search, keyboard use, timeline marks and filters, link previews, the single-file edition."""

import re

import pytest

from browser import RequestLog, serve_under_subpath
from conftest import REPO, run_cli


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("reader") / "site"
    assert run_cli("--root", REPO, "--no-cache", "--out", out).code == 0
    return out


@pytest.fixture(params=["disk", "subpath"])
def base(request, site, tmp_path):
    """The site's base URL: file:// or http://127.0.0.1:PORT/REPO/."""
    if request.param == "disk":
        yield site.as_uri() + "/"
    else:
        with serve_under_subpath(site, tmp_path) as url:
            yield url


@pytest.fixture
def page(browser, base):
    tab = browser.new_page()
    log = RequestLog(tab, base)
    yield tab
    assert log.outside == [], log.outside
    tab.close()


@pytest.mark.parametrize("query, expected, url", [
    ("jeri", "José Jerí", "people/jose-jeri.html"),
    ("Jerí", "José Jerí", "people/jose-jeri.html"),
    ("sheinbaum", "Claudia Sheinbaum", "people/claudia-sheinbaum.html"),
    ("CHAVEZ", "Betssy Chávez", "people/betssy-chavez.html"),
    ("persona non grata", "Peru's Congress declares Sheinbaum persona non grata",
     "events/2025-11-06-congress-declares-sheinbaum-persona-non-grata.html"),
])
def test_search_as_you_type_and_open_with_enter(page, base, query, expected, url):
    page.goto(base + "timeline.html")
    page.keyboard.press("/")
    box = page.locator("#site-search-q")
    assert page.evaluate("document.activeElement.id") == "site-search-q"
    box.type(query)
    first = page.locator("#site-search-results [role=option]").first
    first.wait_for()
    assert first.locator(".result-title").inner_text() == expected
    assert first.locator(".result-kind").text_content() in ("Person", "Event")
    assert re.match(r"^\d+\+? results? for", page.locator(".site-search [role=status]").inner_text())
    box.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "site-search-results-0"
    box.press("Enter")
    page.wait_for_url(base + url)


def test_name_ranks_above_body_mention(page, base):
    page.goto(base + "index.html")
    page.locator("#site-search-q").type("castillo")
    page.locator("#site-search-results [role=option]").first.wait_for()
    titles = page.locator("#site-search-results .result-title").all_inner_texts()
    assert titles[0] == "Pedro Castillo"


def test_search_page_reads_the_query(page, base):
    page.goto(base + "search.html?q=noblecilla")
    page.locator("#search-page-results [role=option]").first.wait_for()
    assert page.locator("#search-page-results .result-title").first.inner_text() == "Raul Noblecilla"
    page.locator("#search-page-q").fill("")
    page.locator("#search-page-q").type("zzzzqx")
    assert page.locator("#search-page-results .no-results").is_visible()


def test_timeline_mark_leads_to_its_event(page, base):
    page.goto(base + "timeline.html")
    mark = page.locator("svg.timeline-chart a[data-event='2025-11-06-congress-declares-sheinbaum-persona-non-grata']").first
    assert "persona non grata" in mark.get_attribute("aria-label")
    mark.click()
    page.wait_for_url(base + "events/2025-11-06-congress-declares-sheinbaum-persona-non-grata.html")


def test_timeline_filters_hide_and_show_events(page, base):
    page.goto(base + "timeline.html")
    total = page.locator(".tl-event").count()
    assert page.locator("#timeline-filters output").inner_text() == f"Showing all {total} events"
    page.select_option("select[name=people]", "fernando-rospigliosi")
    visible = page.locator(".tl-event:visible")
    assert visible.count() == 1
    assert "persona non grata" in visible.first.inner_text()
    assert page.locator("#timeline-filters output").inner_text() == f"Showing 1 of {total} events"
    page.select_option("select[name=people]", "")
    page.select_option("select[name=orgs]", "mexico-government")
    shown = page.locator(".tl-event:visible").count()
    assert 1 < shown < total
    page.get_by_role("button", name="Show all").click()
    page.wait_for_function(f"document.querySelectorAll('.tl-event:not([hidden])').length === {total}")


def test_link_preview_on_hover_and_focus(page, base):
    page.goto(base + "events/2025-11-03-peru-breaks-relations.html")
    link = page.locator("main .body a", has_text="José Jerí").first
    link.hover()
    tip = page.locator("#link-preview")
    tip.wait_for(state="visible")
    assert "José Jerí" in tip.inner_text() and "President of Peru" in tip.inner_text()
    assert link.get_attribute("aria-describedby") == "link-preview"
    page.keyboard.press("Escape")
    tip.wait_for(state="hidden")
    page.locator("main .body a", has_text="Betssy Chávez").first.focus()
    tip.wait_for(state="visible")
    assert "Betssy Chávez" in tip.inner_text()


def test_single_file_edition_needs_nothing_else(browser, site):
    tab = browser.new_page()
    requests = []
    tab.on("request", lambda r: requests.append(r.url))
    tab.goto((site / "dossier.html").as_uri())
    assert requests == [(site / "dossier.html").as_uri()]
    assert tab.locator("h1").inner_text() == "Peru–Mexico rupture, November 2025"
    tab.locator("a[href='#person-jose-jeri']").first.click()
    assert tab.url.endswith("#person-jose-jeri")
    assert tab.locator("body").evaluate("b => getComputedStyle(b).fontFamily").startswith("system-ui")
    for anchor in tab.eval_on_selector_all("a[href^='#']", "els => els.map(e => e.getAttribute('href'))"):
        assert tab.locator(f"[id='{anchor[1:]}']").count() == 1, anchor
    tab.close()


def test_without_javascript_everything_stays_readable(browser, site):
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    tab.goto((site / "timeline.html").as_uri())
    assert not tab.locator("#timeline-filters").is_visible()
    assert tab.locator(".tl-event:visible").count() == tab.locator(".tl-event").count() > 20
    assert tab.locator("svg.timeline-chart a").count() > 20
    tab.goto((site / "search.html").as_uri())
    browse = tab.get_by_role("navigation", name="Browse instead")
    assert browse.get_by_role("link", name="Timeline").is_visible()
    context.close()


@pytest.mark.parametrize("width", [360, 1200])
def test_no_horizontal_overflow(browser, site, width):
    tab = browser.new_page(viewport={"width": width, "height": 800})
    for name in ("index.html", "timeline.html", "people.html", "people/betssy-chavez.html"):
        tab.goto((site / name).as_uri())
        assert tab.evaluate("document.documentElement.scrollWidth") <= width, name
    tab.close()


def test_map_legend_colours_match_the_map(browser, site):
    """The relationship map's key shows people and organizations in their nodes' colours."""
    tab = browser.new_page()
    tab.goto((site / "people.html").as_uri())
    colour = "e => getComputedStyle(e).backgroundColor"
    fill = "e => getComputedStyle(e).fill"
    person_key = tab.locator(".network figcaption .key-dot:not(.key-org)").first.evaluate(colour)
    org_key = tab.locator(".network figcaption .key-org").first.evaluate(colour)
    assert person_key == tab.locator(".network-chart .node-person").first.evaluate(fill)
    assert org_key == tab.locator(".network-chart .node-organization").first.evaluate(fill)
    assert person_key != org_key
    tab.close()
