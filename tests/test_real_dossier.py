"""The repository's own dossier builds cleanly, links fully and quotes its sources verbatim."""

import pytest

from conftest import REPO, SEEDS, run_cli
from sitecheck import broken_links, reachable


@pytest.fixture(scope="module")
def real_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("real") / "site"
    result = run_cli("--root", REPO, "--no-cache", "--out", out, "--site-url", "https://user.github.io/REPO/")
    assert result.code == 0, result.err
    return out, result


def test_real_dossier_builds_with_no_errors_and_no_warnings(real_site):
    """Built as the GitHub Pages workflow builds it (with --site-url)."""
    _, result = real_site
    assert result.err == ""
    assert "0 warnings" in result.out


def test_real_dossier_links_resolve_and_every_page_is_reachable(real_site):
    site, _ = real_site
    assert broken_links(site) == []
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert pages - reachable(site) == {"404.html"}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present in this checkout")
def test_every_quote_is_verbatim_in_the_seed_reports():
    result = run_cli("check", "--root", REPO, "--archive", SEEDS)
    assert result.code == 0, result.err
    verified, rest = result.out.strip().split(" quotes verified verbatim, ")
    assert int(verified) > 0
    assert rest == "0 mismatches"  # and none without an archived copy
