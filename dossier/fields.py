"""Typed reads from YAML mappings that record each problem with its line and field path.

``Fields`` wraps one LineDict: every getter checks the value's type, records a
ContentProblem instead of raising, and remembers which keys were read so that
``finish()`` can report unknown keys with a did-you-mean suggestion.
"""

from __future__ import annotations

from sys import intern
from typing import Iterator

from .dates import QUALIFIERS, DateFormatError, PartialDate, When, parse_date
from .errors import ContentProblem, did_you_mean
from .model import Citation, Ref
from .urls import Slug, is_slug
from .yamlmarks import LineDict, LineList

_MISSING = object()
_TYPE_NAMES = {str: "text", bool: "true or false", list: "a list", dict: "a mapping"}


class Fields:
    """Checked access to the keys of one YAML mapping."""

    def __init__(self, path: str, data: LineDict, problems: list[ContentProblem],
                 prefix: str = "", allowed: tuple[str, ...] = ()):
        self.path, self.data, self.problems, self.prefix = path, data, problems, prefix
        self.allowed = allowed
        self._read: set[str] = set()

    # -- locations and problems -------------------------------------------------
    def field(self, key: str | int) -> str:
        """The dotted path of a key, for messages."""
        return f"{self.prefix}{key}" if isinstance(key, str) else f"{self.prefix}[{key}]"

    def line(self, key: str | None = None) -> int:
        return self.data.line if key is None else self.data.line_of(key)

    def error(self, key: str, message: str, line: int | None = None) -> None:
        self.problems.append(ContentProblem(self.path, line or self.line(key),
                                            self.field(key), message))

    def warn(self, key: str, message: str) -> None:
        self.problems.append(ContentProblem(self.path, self.line(key), self.field(key),
                                            message, "warning"))

    # -- raw access ---------------------------------------------------------------
    def raw(self, key: str, required: bool = False):
        self._read.add(key)
        value = self.data.get(key, _MISSING)
        if value is None:
            value = _MISSING
        if value is _MISSING and required:
            self.error(key, "required field is missing")
        return value

    def typed(self, key: str, kind: type, required: bool = False):
        value = self.raw(key, required)
        if value is _MISSING:
            return None
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # '2024' as a title is still text
        if not isinstance(value, kind):
            self.error(key, f"must be {_TYPE_NAMES[kind]} (got {describe(value)})")
            return None
        return value

    # -- scalars -----------------------------------------------------------------
    def text(self, key: str, required: bool = False) -> str | None:
        value = self.typed(key, str, required)
        if value is not None and not value.strip():
            if required:
                self.error(key, "must not be empty")
            return None
        return value.strip() if value is not None else None

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.typed(key, bool)
        return default if value is None else value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        value = self.text(key)
        if value is None:
            return default
        if value not in options:
            self.error(key, f"must be one of {', '.join(options)} (got {value!r})"
                       + did_you_mean(value, options))
            return default
        return value

    def date(self, key: str, required: bool = False) -> PartialDate | None:
        value = self.raw(key, required)
        if value is _MISSING:
            return None
        try:
            return parse_date(value)
        except DateFormatError as error:
            self.error(key, str(error))
            return None

    def when(self, key: str, required: bool = False) -> When | None:
        """A date as a scalar ('2025-11') or a mapping {start, end, qualifier, display}."""
        value = self.raw(key, required)
        if value is _MISSING:
            return None
        if not isinstance(value, LineDict):
            start = self.date(key)
            return When(start) if start else None
        sub = self.sub(key, ("start", "end", "qualifier", "display"))
        start, end = sub.date("start", required=True), sub.date("end")
        qualifier = sub.choice("qualifier", QUALIFIERS)
        display = sub.text("display")
        sub.finish()
        return self.make_when(key, start, end, qualifier, display)

    def make_when(self, key: str, start, end, qualifier, display) -> When | None:
        if start is None:
            return None
        if end is not None and end.last_day() < start.first_day():
            self.error(key, f"ends ({end}) before it starts ({start})")
            return None
        if qualifier == "between" and end is None:
            self.error(key, "qualifier 'between' needs an end date")
            return None
        return When(start, end, qualifier, display)

    # -- references ---------------------------------------------------------------
    def slug_at(self, key: str | int, value: object, line: int) -> Ref | None:
        field = self.field(key)
        if not isinstance(value, str) or not is_slug(value.strip()):
            self.problems.append(ContentProblem(
                self.path, line, field,
                f"must be a slug like 'betssy-chavez' (got {describe(value)})"))
            return None
        return Ref(Slug(intern(value.strip())), intern(field), line)

    def ref(self, key: str, required: bool = False) -> Ref | None:
        value = self.raw(key, required)
        return None if value is _MISSING else self.slug_at(key, value, self.line(key))

    def refs(self, key: str) -> tuple[Ref, ...]:
        found = []
        for index, item, line in self.items(key):
            ref = self.slug_at(f"{key}[{index}]", item, line)
            if ref:
                found.append(ref)
        return tuple(found)

    def texts(self, key: str) -> tuple[str, ...]:
        found = []
        for index, item, line in self.items(key):
            if isinstance(item, str) and item.strip():
                found.append(item.strip())
            else:
                self.problems.append(ContentProblem(self.path, line, self.field(f"{key}[{index}]"),
                                                    f"must be text (got {describe(item)})"))
        return tuple(found)

    def citations(self, key: str, required: bool = False) -> tuple[Citation, ...]:
        """A list of sources: each a slug, or {source, locator, note}."""
        found = []
        for index, item, line in self.items(key, required):
            name = f"{key}[{index}]"
            if isinstance(item, LineDict):
                sub = Fields(self.path, item, self.problems, self.field(name) + ".",
                             ("source", "locator", "note"))
                ref = sub.ref("source", required=True)
                locator, note = sub.text("locator"), sub.text("note")
                sub.finish()
                if ref:
                    found.append(Citation(ref, locator, note))
            else:
                ref = self.slug_at(name, item, line)
                if ref:
                    found.append(Citation(ref))
        if required and not found and not self._has_problem_for(key):
            self.error(key, "needs at least one source")
        return tuple(found)

    def citation(self, key: str, required: bool = False) -> Citation | None:
        value = self.raw(key, required)
        if value is _MISSING:
            return None
        if isinstance(value, LineDict):
            sub = self.sub(key, ("source", "locator", "note"))
            ref = sub.ref("source", required=True)
            locator, note = sub.text("locator"), sub.text("note")
            sub.finish()
            return Citation(ref, locator, note) if ref else None
        ref = self.slug_at(key, value, self.line(key))
        return Citation(ref) if ref else None

    # -- structure -----------------------------------------------------------------
    def items(self, key: str, required: bool = False) -> Iterator[tuple[int, object, int]]:
        """(index, item, line) for each item of a list field."""
        value = self.raw(key, required)
        if value is _MISSING:
            return
        if not isinstance(value, LineList):
            self.error(key, f"must be a list (got {describe(value)})")
            return
        for index, item in enumerate(value):
            yield index, item, value.line_of(index)

    def sub(self, key: str, allowed: tuple[str, ...]) -> "Fields":
        value = self.data.get(key)
        return Fields(self.path, value, self.problems, self.field(key) + ".", allowed)

    def mappings(self, key: str, allowed: tuple[str, ...], required: bool = False,
                 shorthand: str | None = None) -> Iterator[tuple[int, "Fields"]]:
        """Fields for each mapping in a list; a bare string stands for {shorthand: string}."""
        for index, item, line in self.items(key, required):
            name = self.field(f"{key}[{index}]")
            if shorthand and isinstance(item, (str, int)) and not isinstance(item, bool):
                item = _shorthand(shorthand, item, line)
            if not isinstance(item, LineDict):
                self.problems.append(ContentProblem(self.path, line, name,
                                                    f"must be a mapping (got {describe(item)})"))
                continue
            yield index, Fields(self.path, item, self.problems, name + ".", allowed)

    def finish(self) -> None:
        """Report every key that was never read as unknown."""
        for key in self.data:
            if key not in self._read and key not in self.allowed:
                self.error(str(key), "unknown field" + did_you_mean(str(key), self.allowed))
            elif key not in self._read:
                self._read.add(key)

    def _has_problem_for(self, key: str) -> bool:
        field = self.field(key)
        return any(p.path == self.path and p.field.startswith(field) for p in self.problems)


def _shorthand(key: str, value, line: int) -> LineDict:
    data = LineDict({key: value})
    data.line, data.lines = line, {key: line}
    return data


def describe(value: object) -> str:
    """A short description of a YAML value for 'must be X (got Y)' messages."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing" if value is None else type(value).__name__
