"""The real site in headless Chromium: from disk and from a server under a sub-path."""

import pytest

from browser import RequestLog, serve_under_subpath
from conftest import REPO, run_cli


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "site"
    assert run_cli("--root", REPO, "--no-cache", "--out", out).code == 0
    return out


def click_through(page, start: str) -> None:
    """Home -> timeline -> an event -> a person -> a quote anchor -> a source -> home."""
    page.goto(start + "index.html")
    assert page.title().startswith("Peru–Mexico rupture")
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Timeline").click()
    assert page.locator("h1").inner_text() == "Timeline"
    page.get_by_role("link", name="Peru breaks diplomatic relations with Mexico").first.click()
    assert page.url.endswith("events/2025-11-03-peru-breaks-relations.html")
    assert page.locator("h1").inner_text() == "Peru breaks diplomatic relations with Mexico"
    page.locator("ul.participants").get_by_role("link", name="José Jerí").click()
    assert page.url.endswith("people/jose-jeri.html")
    page.get_by_role("link", name="Link to this quote").first.click()
    assert "quotes.html#q-" in page.url
    anchor = page.url.split("#")[1]
    page.wait_for_load_state()              # the URL changes before the page has loaded
    assert page.locator(f"#{anchor} blockquote").is_visible()
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Sources").click()
    page.get_by_role("link", name="RPP").click()
    assert page.locator("h1").inner_text() == "RPP"
    page.get_by_role("link", name="Home").first.click()
    page.wait_for_url("**/index.html")
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("body").evaluate("b => getComputedStyle(b).fontFamily").startswith("system-ui")


def test_site_navigates_from_disk(browser, site):
    page = browser.new_page()
    log = RequestLog(page, site.as_uri())
    click_through(page, site.as_uri() + "/")
    assert log.outside == []
    page.close()


def test_site_navigates_under_a_subpath(browser, site, tmp_path):
    with serve_under_subpath(site, tmp_path) as base:
        page = browser.new_page()
        log = RequestLog(page, base)
        click_through(page, base)
        assert log.outside == []
        page.close()
