"""The URL scheme: page locations, relative links, slug rules."""

import pytest

from dossier.urls import Url, is_slug, page_url, quote_url, relative


@pytest.mark.parametrize("source, target, expected", [
    ("index.html", "events/a.html", "events/a.html"),
    ("events/a.html", "events/b.html", "b.html"),
    ("events/a.html", "people/b.html", "../people/b.html"),
    ("events/a.html", "index.html", "../index.html"),
    ("people/x.html", "quotes.html#q-y", "../quotes.html#q-y"),
    ("quotes.html", "quotes.html#q-y", "#q-y"),
    ("index.html", "assets/style.css", "assets/style.css"),
])
def test_relative_links_point_at_files(source, target, expected):
    assert relative(Url(source), Url(target)) == expected


def test_pages_live_in_one_folder_per_kind():
    assert page_url("event", "x") == "events/x.html"
    assert page_url("person", "x") == "people/x.html"
    assert page_url("organization", "x") == "organizations/x.html"
    assert page_url("source", "x") == "sources/x.html"
    assert quote_url("x-1") == "quotes.html#q-x-1"


@pytest.mark.parametrize("slug, ok", [
    ("betssy-chavez", True), ("2025-11-03-break", True), ("a", True),
    ("Betssy-Chavez", False), ("betssy--chavez", False), ("-x", False), ("x-", False),
    ("chávez", False), ("a_b", False), ("../etc", False), ("", False),
])
def test_slug_rule(slug, ok):
    assert is_slug(slug) is ok
