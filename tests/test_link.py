"""Linking: references, backlinks, indexes and the role someone held at the time."""

from dataclasses import replace

from conftest import FIXTURES
from dossier.dates import PartialDate
from dossier.link import link, role_on
from dossier.load import load_content
from dossier.model import Position
from dossier.validate import validate


def linked():
    loaded = load_content(FIXTURES / "minimal" / "content")
    problems = list(loaded.problems)
    dossier = link(validate(loaded.records, problems), problems)
    assert problems == []
    return dossier


def test_events_are_in_timeline_order():
    assert [e.slug for e in linked().events] == [
        "2022-12-coup-attempt", "2025-11-year-background", "2025-11-03-break"]


def test_backlinks_and_indexes():
    d = linked()
    assert [(e.slug, role) for e, role in d.events_of["ana-lopez"]] == [
        ("2022-12-coup-attempt", "actor")]
    assert [q.id for q in d.quotes_by["ruritania-government"]] == ["break-announcement"]
    assert {b.page for b in d.mentions_of["ana-lopez"]} == {
        "index.html", "events/2022-12-coup-attempt.html"}
    assert {b.page for b in d.cited_by["newspaper"]} == {
        "events/2025-11-03-break.html", "events/2025-11-year-background.html"}
    assert [e.slug for e in d.related_of["2022-12-coup-attempt"]] == ["2025-11-03-break"]
    assert [p.slug for p, _ in d.members_of["ruritania-government"]] == ["ana-lopez"]
    assert len(d.conflicts) == 1


def test_role_on_uses_known_periods_only():
    d = linked()
    person = d.entities["ana-lopez"]
    coup, later = d.entities["2022-12-coup-attempt"], d.entities["2025-11-03-break"]
    assert role_on(person, coup).title == "Prime Minister"
    assert role_on(person, later) is None
    attested = replace(person, positions=(Position("Envoy", in_office=PartialDate(2025, 11)),))
    assert role_on(attested, later).title == "Envoy"
    assert role_on(attested, coup) is None
    assert role_on(replace(person, positions=(Position("Adviser"),)), later) is None
