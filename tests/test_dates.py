"""Partial dates: parsing, precision, ordering and honest formatting."""

import pytest

from dossier.dates import DateFormatError, PartialDate, When, parse_date


@pytest.mark.parametrize("text, expected, precision", [
    ("2022", PartialDate(2022), "year"),
    (2022, PartialDate(2022), "year"),
    ("2022-12", PartialDate(2022, 12), "month"),
    ("2025-11-03", PartialDate(2025, 11, 3), "day"),
    ("2024-02-29", PartialDate(2024, 2, 29), "day"),
])
def test_parse_keeps_precision(text, expected, precision):
    date = parse_date(text)
    assert date == expected
    assert date.precision == precision
    assert date.iso() == str(text)


@pytest.mark.parametrize("text, message", [
    ("2025-02-30", "February 2025 has 28 days (got '2025-02-30')"),
    ("2025-13", "month 13 does not exist (got '2025-13')"),
    ("2025-11-3", "must be a date like 2025, 2025-11 or 2025-11-03 (got '2025-11-3')"),
    ("3 November 2025", "must be a date like 2025, 2025-11 or 2025-11-03 (got '3 November 2025')"),
    ("25", "must be a date like 2025, 2025-11 or 2025-11-03 (got '25')"),
    (True, "must be a date like 2025, 2025-11 or 2025-11-03 (got True)"),
])
def test_parse_rejects_bad_dates(text, message):
    with pytest.raises(DateFormatError) as error:
        parse_date(text)
    assert str(error.value) == message


def test_less_precise_date_sorts_first_within_its_period():
    dates = [parse_date(t) for t in ("2025-11-03", "2025", "2024-12-31", "2025-11", "2025-10-31")]
    assert [d.iso() for d in sorted(dates)] == [
        "2024-12-31", "2025", "2025-10-31", "2025-11", "2025-11-03"]


def test_when_sort_key_orders_spans_after_their_start():
    single = When(parse_date("2025-11-03"))
    span = When(parse_date("2025-11-03"), parse_date("2025-11-07"), "between")
    assert sorted([span, single], key=When.sort_key) == [single, span]


@pytest.mark.parametrize("when, text", [
    (When(PartialDate(2022, 12)), "December 2022"),
    (When(PartialDate(2023)), "2023"),
    (When(PartialDate(2025, 11, 3)), "3 November 2025"),
    (When(PartialDate(2022, 12), qualifier="circa"), "circa December 2022"),
    (When(PartialDate(2025, 11), qualifier="before"), "before November 2025"),
    (When(PartialDate(2025, 11, 3), PartialDate(2025, 11, 7), "between"),
     "between 3 and 7 November 2025"),
    (When(PartialDate(2025, 10, 28), PartialDate(2025, 11, 3)), "28 October–3 November 2025"),
    (When(PartialDate(2022, 12), PartialDate(2023, 6)), "December 2022–June 2023"),
    (When(PartialDate(2022, 12), display="Late 2022"), "Late 2022"),
])
def test_human_dates_never_claim_more_precision(when, text):
    assert when.human() == text


def test_first_and_last_day_cover_the_period():
    assert PartialDate(2024, 2).last_day() == PartialDate(2024, 2, 29)
    assert PartialDate(2023).first_day() == PartialDate(2023, 1, 1)
    assert PartialDate(2023).last_day() == PartialDate(2023, 12, 31)
