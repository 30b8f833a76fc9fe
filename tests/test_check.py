"""Quote verification against archived copies of sources."""

import pytest

from conftest import run_cli
from dossier.check import normalize

EVENT = "content/events/2025-11-03-break.md"
ARCHIVE_TEXT = ("The government posted: “We have decided to break\n   relations.” "
                "It said nothing more.")


@pytest.fixture
def archive(tmp_path):
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "wire-report.txt").write_text(ARCHIVE_TEXT, "utf-8")
    return folder


@pytest.mark.parametrize("quote, archived", [
    ("It's over", "It’s over"),
    ("a  b\nc", "a b c"),
    ("“quoted”", '"quoted"'),
])
def test_normalize_tolerates_quote_marks_and_whitespace(quote, archived):
    assert normalize(quote) == normalize(archived)


@pytest.mark.parametrize("quote, archived", [
    ("We have decided to break relations", "We have decided to end relations"),
    ("relations.", "relations,"),
])
def test_normalize_keeps_words_and_punctuation(quote, archived):
    assert normalize(quote) != normalize(archived)


def test_verbatim_quote_passes(project, archive):
    result = run_cli("check", "--root", project, "--archive", archive)
    assert result.code == 0, result.err
    assert result.out == "1 quotes verified verbatim, 0 mismatches\n"


def test_altered_quote_is_reported_with_its_line(project, archive):
    path = project / EVENT
    path.write_text(path.read_text("utf-8").replace(
        "We have decided to break relations.", "We have decided to end relations."), "utf-8")
    result = run_cli("check", "--root", project, "--archive", archive)
    assert result.code == 1
    assert result.lines[0] == (
        f"{EVENT}:13: quotes[0].text: quote 'break-announcement' is not verbatim in the "
        "archived copy of 'wire-report' (wire-report.txt); nearest passage: "
        "…\"We have decided to break relations.\" It…")
    assert result.lines[1] == "0 quotes verified verbatim, 1 mismatches"


def test_quote_without_archived_copy_is_counted_not_failed(project, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("check", "--root", project, "--archive", empty)
    assert result.code == 0
    assert result.out == ("0 quotes verified verbatim, 0 mismatches, "
                          "1 without an archived source copy\n")


def test_check_without_archive_only_validates(project):
    result = run_cli("check", "--root", project)
    assert result.code == 0
    assert "quotes not verified" in result.out
    assert not (project / "site").exists()


def test_missing_archive_folder_is_a_usage_error(project, tmp_path):
    result = run_cli("check", "--root", project, "--archive", tmp_path / "nope")
    assert result.code == 2
