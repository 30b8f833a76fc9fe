"""Whole-site builds of the fixture dossier: pages, links, backlinks, determinism, atomicity."""

import io
import re
from pathlib import Path

import pytest

from conftest import build, run_cli, snapshot, soup
from sitecheck import broken_links, reachable


def built(project: Path) -> Path:
    result = build(project)
    assert result.code == 0, result.err
    return project / "site"


def test_every_page_kind_is_written(project):
    site = built(project)
    for rel in ["index.html", "timeline.html", "people.html", "quotes.html", "sources.html",
                "discrepancies.html", "404.html", "assets/style.css",
                "events/2025-11-03-break.html", "people/ana-lopez.html",
                "organizations/ruritania-government.html", "sources/wire-report.html"]:
        assert (site / rel).is_file(), rel


def test_links_all_resolve_and_every_page_is_reachable_from_home(project):
    site = built(project)
    assert broken_links(site) == []
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert pages - reachable(site) == {"404.html"}


def test_no_link_points_at_a_bare_directory(project):
    site = built(project)
    for page in site.rglob("*.html"):
        for a in soup(page).find_all("a", href=True):
            assert not a["href"].split("#")[0].endswith("/"), (page, a["href"])


def test_timeline_groups_by_year_and_month_with_honest_dates(project):
    page = soup(built(project) / "timeline.html")
    assert [h.get_text() for h in page.find_all("h2")] == ["2022", "2025"]
    assert [h.get_text() for h in page.find_all("h3")] == [
        "December 2022", "2025, month not known", "November 2025"]
    times = [(t["datetime"], t.get_text()) for t in page.select("main time")]
    assert ("2022-12", "December 2022") in times
    assert ("2025", "2025") in times
    assert ("2025-11-03", "3 November 2025") in times


def test_event_page_shows_everything_about_the_event(project):
    page = soup(built(project) / "events/2025-11-03-break.html")
    assert page.h1.get_text() == "Relations broken"
    assert page.find("time")["datetime"] == "2025-11-03"
    quote = page.find("figure", class_="quote")
    assert quote.blockquote.get_text(strip=True) == "We have decided to break relations."
    assert quote.find("a", class_="permalink")["href"] == "../quotes.html#q-break-announcement"
    assert [c.get_text() for c in quote.find_all("cite")] == ["Wire report", "The Daily Paper"]
    assert page.find("aside", class_="conflict-note").h3.get_text() == "Date announced"
    assert page.find("a", rel="prev")["href"] == "2025-11-year-background.html"
    related = page.find("section", attrs={"aria-labelledby": "related-h"})
    assert related.a["href"] == "2022-12-coup-attempt.html"


def test_profile_lists_roles_events_quotes_and_mentions(project):
    site = built(project)
    person = soup(site / "people/ana-lopez.html")
    assert person.h1.get_text() == "Ana López"
    assert "Prime Minister" in person.find("table", class_="roles").get_text()
    events = person.find("section", attrs={"aria-labelledby": "events-h"})
    assert [a["href"] for a in events.find_all("a")] == ["../events/2022-12-coup-attempt.html"]
    mentions = person.find("section", attrs={"aria-labelledby": "mentions-h"})
    assert {a["href"] for a in mentions.find_all("a")} == {
        "../index.html", "../events/2022-12-coup-attempt.html"}
    org = soup(site / "organizations/ruritania-government.html")
    said = org.find("section", attrs={"aria-labelledby": "quotes-h"})
    assert said.blockquote.get_text(strip=True) == "We have decided to break relations."
    members = org.find("section", attrs={"aria-labelledby": "members-h"})
    assert members.a["href"] == "../people/ana-lopez.html"


def test_event_shows_role_held_at_the_time(project):
    page = soup(built(project) / "events/2022-12-coup-attempt.html")
    item = page.find("ul", class_="participants").li
    assert item.get_text(" ", strip=True).startswith("Ana López , then Prime Minister")


def test_source_page_lists_what_cites_it(project):
    page = soup(built(project) / "sources/newspaper.html")
    cited = page.find("section", attrs={"aria-labelledby": "cited-h"})
    assert {a["href"] for a in cited.find_all("a")} == {
        "../events/2025-11-03-break.html", "../events/2025-11-year-background.html"}


def test_quote_index_has_stable_anchors(project):
    page = soup(built(project) / "quotes.html")
    figure = page.find(id="q-break-announcement")
    assert figure.name == "figure"
    assert page.find("a", href="#q-break-announcement") is not None


def test_output_is_deterministic(project, tmp_path):
    first = snapshot(built(project))
    assert run_cli("--root", project, "--out", tmp_path / "again").code == 0
    assert snapshot(tmp_path / "again") == first


def test_a_build_nobody_keeps_makes_no_state_and_the_same_site(real, tmp_path, monkeypatch):
    """A --no-cache build (nothing reads its state) takes no page signatures and records
    no page's reads: it makes no state and no TrackedDossier, and its site, marker and
    build id included, is the one a build that keeps its state makes."""
    from dossier import deps, pipeline, render
    from dossier.write import read_build_id
    assert run_cli("--root", real, "--out", tmp_path / "kept").code == 0
    monkeypatch.setattr(pipeline, "next_state", lambda *a: pytest.fail("a state was made"))
    for module in (deps, render):
        monkeypatch.setattr(module, "TrackedDossier", lambda *a: pytest.fail("reads tracked"))
    assert run_cli("--root", real, "--out", tmp_path / "clean", "--no-cache").code == 0
    assert read_build_id(tmp_path / "clean") == read_build_id(tmp_path / "kept") is not None
    assert snapshot(tmp_path / "clean") == snapshot(tmp_path / "kept")


def test_out_refuses_a_folder_it_did_not_make(project, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("irreplaceable")
    result = run_cli("--root", project, "--out", precious)
    assert result.code == 1
    assert "refusing to replace" in result.err and "no .dossier-build file" in result.err
    assert (precious / "thesis.txt").read_text() == "irreplaceable"


def test_out_refuses_the_project_and_content_folders(project):
    for target in (project, project / "content", project.parent):
        result = run_cli("--root", project, "--out", target)
        assert result.code == 1, target
        assert "refusing to write the site" in result.err
    assert (project / "content/dossier.yaml").is_file()


def test_rebuild_removes_pages_of_deleted_content(project):
    site = built(project)
    (project / "content/events/2025-11-year-background.md").unlink()
    assert build(project).code == 0
    assert not (site / "events/2025-11-year-background.html").exists()
    assert not list(site.parent.glob(".site.tmp-*"))


def test_clean_build_replaces_the_whole_folder(project):
    site = built(project)
    (site / "events/stray.html").write_text("left by hand")
    assert build(project, "--no-cache").code == 0
    assert not (site / "events/stray.html").exists()
    assert not list(site.parent.glob(".site.tmp-*"))


def test_template_error_names_template_and_line(project, tmp_path):
    templates = tmp_path / "templates"
    import shutil
    shutil.copytree(Path(__file__).resolve().parent.parent / "templates", templates)
    shutil.copytree(templates, project / "templates")
    (project / "templates/timeline.html").write_text("{% extends 'base.html' %}\n{% block main %}\n{{ nope }\n{% endblock %}\n")
    result = build(project)
    assert result.code == 1
    assert result.err.startswith("error: templates/timeline.html:3: template error:")


def test_build_py_keeps_its_bytecode_in_the_cache_folder_when_python_would_not(tmp_path):
    """With PYTHONDONTWRITEBYTECODE set (as on this project's machine), every run would
    compile the package from source (0.05 s a build): build.py keeps the compiled modules
    under .dossier-cache/bytecode instead, and none beside the sources."""
    import os
    import shutil
    import subprocess
    import sys
    repo = Path(__file__).resolve().parent.parent
    tool = tmp_path / "tool"
    shutil.copytree(repo / "dossier", tool / "dossier",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(repo / "build.py", tool / "build.py")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    for _ in range(2):
        done = subprocess.run([sys.executable, str(tool / "build.py"), "--help"], env=env,
                              capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    kept = tool / ".dossier-cache" / "bytecode"
    compiled = {p.name.split(".")[0] for p in kept.rglob("*.pyc")
                if p.parent.name == "dossier"}
    assert {"__init__", "cli"} <= compiled
    assert not (tool / "dossier" / "__pycache__").exists()


def test_the_build_command_leaves_its_build_for_the_process_end_to_free(project, monkeypatch):
    """build.py ends the process with os._exit, which frees nothing: the build command
    keeps the build it made (dossier, cache) rather than freeing it object by object as
    it returns (0.025 s of an edit at 10,000 events). A next build replaces it."""
    import gc
    import weakref
    from dossier import pipeline
    made = []
    real = pipeline.build

    def build_noting(*args, **kwargs):
        report = real(*args, **kwargs)
        made.append(weakref.ref(report.cache))
        return report
    monkeypatch.setattr(pipeline, "build", build_noting)
    assert build(project).code == 0
    gc.collect()
    assert made[0]() is not None
    assert build(project, "--no-cache").code == 0
    gc.collect()
    assert made[0]() is None and made[1]() is not None


class _Terminal(io.StringIO):
    """Standard error as a terminal."""

    def isatty(self) -> bool:
        return True


def _reports(root, jobs: int) -> list[tuple[str, int, int]]:
    """What a clean build on ``jobs`` processes tells its progress callback, in order."""
    from dossier import pipeline
    from dossier.project import Project
    seen: list = []
    pipeline.build(Project.at(root, jobs=jobs), use_cache=False,
                   progress=lambda *report: seen.append(report))
    return seen


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_long_build_reports_each_stage_to_its_end(tmp_path, jobs):
    """Progress goes stage by stage (on two cores: reading content, rendering Markdown,
    rendering pages, the single-file edition, data files), each count never going back and ending at its
    total: the counter a terminal shows never sits still on a stage that is done."""
    from generate import generate              # benchmarks/ (on the path: conftest)
    generate(tmp_path, 320)
    seen = _reports(tmp_path, jobs)
    names = [name for name, _, _ in seen]
    stages = list(dict.fromkeys(names))
    if jobs == 2:
        assert stages == ["reading content", "rendering Markdown", "rendering pages",
                          "rendering the single-file edition", "writing data files"]
    else:
        assert set(stages) == {"rendering Markdown", "rendering pages", "writing data files"}
    for stage in stages:
        counts = [(done, total) for name, done, total in seen if name == stage]
        assert all(done <= total for done, total in counts), stage
        assert [done for done, _ in counts] == sorted(done for done, _ in counts), stage
        assert counts[-1][0] == counts[-1][1], stage
    for first, second in zip(stages, stages[1:]):            # one stage, then the next
        assert max(i for i, name in enumerate(names) if name == first) < names.index(second)


def test_the_terminal_shows_one_progress_line_a_pipe_shows_none(tmp_path):
    """On a terminal the build writes its progress over one line ('\\r'), ended before the
    warnings and the summary; to a file or a pipe it writes none."""
    from dossier.cli import main
    from generate import generate
    generate(tmp_path, 320)
    out, err = io.StringIO(), _Terminal()
    assert main(["--root", str(tmp_path), "--no-cache", "--jobs", "2"], out=out, err=err) == 0
    shown = err.getvalue()
    for line in ("reading content: ", "rendering Markdown: ", "rendering pages: ", "rendering the single-file edition...",
                 "writing data files: "):
        assert f"\r{line}" in shown, line
    last, ended, rest = shown.rpartition("\r")[2].partition("\n")
    assert re.fullmatch(r"writing data files: (\d+)/\1 *", last) and ended
    assert rest.startswith("content/dossier.yaml: warning: site_url")   # on a line of its own
    out, err = io.StringIO(), io.StringIO()
    assert main(["--root", str(tmp_path), "--no-cache", "--jobs", "2"], out=out, err=err) == 0
    assert "\r" not in err.getvalue() and "rendering" not in err.getvalue()


def test_the_summary_counts_in_words_that_agree_with_the_numbers(project):
    """One of a kind is said in the singular ("1 person", "1 warning"), as the minimal
    dossier has one person, organization, quote and (without a site URL) warning."""
    first = build(project)
    assert first.code == 0, first.err
    assert first.out.rstrip().endswith(
        "(3 events, 1 person, 1 organization, 2 sources, 1 quote; 1 warning)"), first.out
    again = build(project, "--site-url", "https://example.org/d/")
    assert again.out.rstrip().endswith("1 quote; 0 warnings)"), again.out
