"""``python build.py new``: right slug, valid draft skeleton, never overwrites."""

import pytest

from conftest import build, run_cli
from dossier.scaffold import slugify


@pytest.mark.parametrize("text, slug", [
    ("José Jerí", "jose-jeri"), ("Betssy Chávez", "betssy-chavez"),
    ("Andrés Manuel López Obrador", "andres-manuel-lopez-obrador"),
    ("Peru–Mexico: the rupture!", "peru-mexico-the-rupture"), ("  Ñandú  ", "nandu"),
    ("Straße", "strasse"),
])
def test_slugify_folds_accents(text, slug):
    assert slugify(text) == slug


def test_new_event_person_and_organization(project):
    result = run_cli("new", "event", "José Jerí meets the press", "--date", "2025-11-08",
                     "--root", project)
    assert result.code == 0, result.err
    path = project / "content/events/2025-11-08-jose-jeri-meets-the-press.md"
    assert result.out.strip().endswith("content/events/2025-11-08-jose-jeri-meets-the-press.md")
    assert path.read_text("utf-8").startswith('---\ntitle: "José Jerí meets the press"\n')
    assert run_cli("new", "person", "José Jerí", "--root", project).code == 0
    assert (project / "content/people/jose-jeri.yaml").is_file()
    assert run_cli("new", "organization", "Perú Libre", "--root", project).code == 0
    assert (project / "content/organizations/peru-libre.yaml").is_file()
    built = build(project)
    assert built.code == 0, built.err
    assert built.err.count("not published while it is a draft") == 3
    assert not (project / "site/events/2025-11-08-jose-jeri-meets-the-press.html").exists()


def test_new_refuses_to_overwrite(project):
    path = project / "content/people/ana-lopez.yaml"
    before = path.read_text("utf-8")
    result = run_cli("new", "person", "Ana López", "--root", project)
    assert result.code == 2
    assert "already exists; not overwriting it" in result.err
    assert path.read_text("utf-8") == before


def test_new_event_needs_a_valid_date(project):
    assert run_cli("new", "event", "X", "--root", project).code == 2
    result = run_cli("new", "event", "X", "--date", "2025-02-30", "--root", project)
    assert result.code == 2 and "February 2025 has 28 days" in result.err


def test_reference_to_a_draft_is_explained(project):
    run_cli("new", "person", "Luis Pérez", "--root", project)
    event = project / "content/events/2025-11-03-break.md"
    event.write_text(event.read_text("utf-8").replace(
        "participants:\n", "participants:\n  - luis-perez\n"), "utf-8")
    result = build(project)
    assert result.code == 1
    assert "'luis-perez' is a draft; publish it (remove 'draft: true') or remove this reference" in result.err
