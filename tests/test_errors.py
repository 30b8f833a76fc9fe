"""One broken fixture per kind of bad input: the exact message, exit 1, output untouched."""

from pathlib import Path

import pytest

from conftest import build, snapshot

EVENT = "content/events/2025-11-03-break.md"
PERSON = "content/people/ana-lopez.yaml"
ORG = "content/organizations/ruritania-government.yaml"


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text("utf-8")
    assert old in text, f"fixture changed: {old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1), "utf-8")


CASES = {
    "unknown person with suggestion": (
        EVENT, "ref: ruritania-government, role: actor", "ref: ana-lopes, role: actor",
        [f"{EVENT}:6: participants[0].ref: unknown person or organization 'ana-lopes' "
         "(did you mean 'ana-lopez'?)"]),
    "unknown field with suggestion": (
        EVENT, "track: diplomacy", "trak: diplomacy",
        [f"{EVENT}:7: trak: unknown field (did you mean 'track'?)"]),
    "missing required field": (
        PERSON, "name: Ana López\n", "",
        [f"{PERSON}:1: name: required field is missing"]),
    "impossible date": (
        EVENT, "date: 2025-11-03", "date: 2025-02-30",
        [f"{EVENT}:3: date: February 2025 has 28 days (got '2025-02-30')"]),
    "badly formatted date": (
        EVENT, "date: 2025-11-03", "date: 3/11/2025",
        [f"{EVENT}:3: date: must be a date like 2025, 2025-11 or 2025-11-03 (got '3/11/2025')"]),
    "wrong type": (
        EVENT, "title: Relations broken", "title: [Relations, broken]",
        [f"{EVENT}:2: title: must be text (got a list)"]),
    "unknown source": (
        EVENT, "sources: [wire-report, newspaper]", "sources: [wire-report, newspaperr]",
        [f"{EVENT}:8: sources[1]: unknown source 'newspaperr' (did you mean 'newspaper'?)"]),
    "no sources": (
        EVENT, "sources: [wire-report, newspaper]", "sources: []",
        [f"{EVENT}:8: sources: needs at least one source"]),
    "reference of the wrong kind": (
        EVENT, "related: [2022-12-coup-attempt]", "related: [ana-lopez]",
        [f"{EVENT}:9: related[0]: 'ana-lopez' is a person, not an event"]),
    "unknown wikilink in body": (
        EVENT, "See also [[2022-12-coup-attempt]].", "See also [[2022-12-coup-atempt]].",
        [f"{EVENT}:27: body: unknown link target '[[2022-12-coup-atempt]]' "
         "(did you mean '2022-12-coup-attempt'?)"]),
    "unknown quote speaker": (
        EVENT, "speaker: ruritania-government", "speaker: ruritania",
        [f"{EVENT}:12: quotes[0].speaker: unknown person or organization 'ruritania' "
         "(did you mean 'ruritania-government'?)"]),
    "conflict with one version": (
        EVENT, "      - text: Announced on 4 November.\n        sources: [newspaper]\n", "",
        [f"{EVENT}:20: conflicts[0].versions: a conflict needs at least two versions"]),
    "a source where a person or organization takes part": (
        EVENT, "ref: ruritania-government, role: actor", "ref: wire-report, role: actor",
        [f"{EVENT}:6: participants[0].ref: 'wire-report' is a source, not a person or "
         "organization"]),
    "an event as a quote's speaker": (
        EVENT, "speaker: ruritania-government", "speaker: 2022-12-coup-attempt",
        [f"{EVENT}:12: quotes[0].speaker: '2022-12-coup-attempt' is an event, not a person "
         "or organization"]),
    "a person cited as a source": (
        EVENT, "sources: [wire-report, newspaper]", "sources: [wire-report, ana-lopez]",
        [f"{EVENT}:8: sources[1]: 'ana-lopez' is a person, not a source"]),
    "a person as the outlet a quote came through": (
        EVENT, "via: [newspaper]", "via: [ana-lopez]",
        [f"{EVENT}:17: quotes[0].via[0]: 'ana-lopez' is a person, not a source"]),
    "reference to a person where an organization is needed": (
        ORG, "kind: government", "kind: government\nparent: ana-lopez",
        [f"{ORG}:3: parent: 'ana-lopez' is a person, not an organization"]),
    "unknown track": (
        EVENT, "track: diplomacy", "track: diplomcy",
        [f"{EVENT}:7: track: unknown track 'diplomcy' (did you mean 'diplomacy'?)"]),
    "broken YAML": (
        PERSON, "country: Ruritania", "country: [Ruritania",
        None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_reported_and_site_untouched(project, case):
    rel, old, new, expected = CASES[case]
    assert build(project).code == 0
    before = snapshot(project / "site")
    edit(project, rel, old, new)
    result = build(project)
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.lines[-1].startswith("build failed: ")
    assert result.lines[-1].endswith("site/ was not changed")
    if expected is not None:
        assert result.lines[:-1] == expected
    else:
        assert result.lines[0].startswith(f"{rel}:")
        assert "invalid YAML" in result.lines[0]
    assert snapshot(project / "site") == before


def test_all_problems_are_reported_together(project):
    edit(project, EVENT, "track: diplomacy", "trak: diplomacy")
    edit(project, PERSON, "name: Ana López\n", "")
    edit(project, ORG, "kind: government", "kind: government\nfoo: 1")
    result = build(project)
    assert result.code == 1
    assert len(result.lines) == 4
    assert result.lines[-1] == "build failed: 3 errors; site/ was not changed"


def test_duplicate_slug_across_kinds(project):
    (project / "content/sources/ana-lopez.yaml").write_text("name: X\nkind: wire\n", "utf-8")
    result = build(project)
    assert result.code == 1
    assert ("content/sources/ana-lopez.yaml: duplicate slug 'ana-lopez': "
            "content/people/ana-lopez.yaml already uses it; slugs are unique across all kinds"
            ) in result.lines


def test_invalid_slug_file_name(project):
    (project / "content/people/Ana_Lopez.yaml").write_text(
        "name: X\nsummary: x\nsources: [wire-report]\n", "utf-8")
    result = build(project)
    assert result.code == 1
    assert result.lines[0].startswith("content/people/Ana_Lopez.yaml: file name 'Ana_Lopez' "
                                      "is not a valid slug")


def test_wrong_extension_is_explained(project):
    (project / "content/people/someone.yml").write_text("name: X\n", "utf-8")
    result = build(project)
    assert result.lines[0] == ("content/people/someone.yml: unexpected file; people/ holds "
                               "only .yaml files (rename it to someone.yaml)")


def test_usage_error_exits_2(project):
    result = build(project, "--frobnicate")
    assert result.code == 2
    assert "unrecognized arguments: --frobnicate" in result.err
