"""Partial dates that keep their precision, parse from ISO prefixes, sort and print honestly.

``2022`` is a year, ``2022-12`` a month, ``2022-12-07`` a day; nothing is ever padded.
A :class:`When` adds an optional end, a qualifier (circa / before / after / between)
and a display override. Formatting is our own (never the locale) so output is stable.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

MONTHS = ("January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December")
QUALIFIERS = ("circa", "before", "after", "between")
_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class DateFormatError(ValueError):
    """A date string that is not a valid ISO prefix or names an impossible day."""


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A calendar date known to year, month or day precision."""

    year: int
    """Four-digit year."""
    month: int = 0
    """1-12, or 0 when only the year is known."""
    day: int = 0
    """1-31, or 0 when the day is not known (never known without the month)."""

    @property
    def precision(self) -> str:
        """'year', 'month' or 'day'."""
        return "day" if self.day else "month" if self.month else "year"

    def iso(self) -> str:
        """The ISO prefix this date was written as: '2025', '2025-11' or '2025-11-03'.
        (%-formatting: half the time of f-strings with widths; every listed date asks.)"""
        if self.day:
            return "%04d-%02d-%02d" % (self.year, self.month, self.day)
        if self.month:
            return "%04d-%02d" % (self.year, self.month)
        return "%04d" % self.year

    def human(self) -> str:
        """'3 November 2025', 'November 2025' or '2025'."""
        if self.day:
            return f"{self.day} {MONTHS[self.month - 1]} {self.year}"
        if self.month:
            return f"{MONTHS[self.month - 1]} {self.year}"
        return str(self.year)

    def last_day(self) -> "PartialDate":
        """The last day this date covers (the end of its month or year)."""
        if self.day:
            return self
        month = self.month or 12
        return PartialDate(self.year, month, calendar.monthrange(self.year, month)[1])

    def first_day(self) -> "PartialDate":
        """The first day this date covers."""
        return PartialDate(self.year, self.month or 1, self.day or 1)

    def __str__(self) -> str:
        return self.iso()


def parse_date(value: object) -> PartialDate:
    """Parse an ISO prefix ('2025', '2025-11', '2025-11-03'); raise DateFormatError."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise DateFormatError(f"must be a date like 2025, 2025-11 or 2025-11-03 (got {value!r})")
    text = str(value).strip()
    match = _ISO.match(text)
    if not match:
        raise DateFormatError(f"must be a date like 2025, 2025-11 or 2025-11-03 (got {text!r})")
    year, month, day = (int(g) if g else 0 for g in match.groups())
    if match.group(2) and not 1 <= month <= 12:
        raise DateFormatError(f"month {month} does not exist (got {text!r})")
    if match.group(3):
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            raise DateFormatError(
                f"{MONTHS[month - 1]} {year} has {last} days (got {text!r})")
    return PartialDate(year, month, day)


@dataclass(frozen=True, slots=True)
class When:
    """When something happened, as precisely as it is known."""

    start: PartialDate
    """The date, or the start of a span or of a 'between' window."""
    end: PartialDate | None = None
    """End of a span (or of the 'between' window); None for a single date."""
    qualifier: str | None = None
    """None, or one of QUALIFIERS: how uncertain the date is."""
    display: str | None = None
    """Hand-written text shown instead of the formatted date (e.g. 'Late 2022')."""

    def sort_key(self) -> tuple[int, ...]:
        """Orders year < month < day within the same period: 2025-11 before 2025-11-03.
        Plain numbers (the start's, then the end's), compared in C: linking sorts
        every event and quote by it."""
        start, end = self.start, self.end or self.start
        return (start.year, start.month, start.day, end.year, end.month, end.day)

    def iso(self) -> str:
        """Machine-readable value for <time datetime>: the start date's ISO prefix."""
        return self.start.iso()

    def human(self) -> str:
        """The date as a reader should see it, never more precise than it is known."""
        if self.display:
            return self.display
        if self.end is not None:
            span = format_span(self.start, self.end)
            return f"between {span.replace('–', ' and ', 1)}" if self.qualifier == "between" else span
        text = self.start.human()
        return f"{self.qualifier} {text}" if self.qualifier else text

    def __str__(self) -> str:
        return self.human()


def format_span(start: PartialDate, end: PartialDate) -> str:
    """'3–7 November 2025', '28 October – 3 November 2025', 'December 2022 – June 2023'."""
    if start.precision == end.precision == "day" and start.year == end.year:
        if start.month == end.month:
            return f"{start.day}–{end.day} {MONTHS[end.month - 1]} {end.year}"
        return f"{start.day} {MONTHS[start.month - 1]}–{end.human()}"
    return f"{start.human()}–{end.human()}"


def month_heading(date: PartialDate) -> str:
    """Heading under which a date is grouped on the timeline ('' for year-only dates)."""
    return MONTHS[date.month - 1] if date.month else ""
