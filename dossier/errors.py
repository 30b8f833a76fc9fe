"""The one exception hierarchy of dossier, and the located problems it carries.

    DossierError                 anything the CLI reports without a traceback
    ├── ContentErrors            one or more ContentProblem found in content/ (exit 1)
    ├── TemplateFailure          a Jinja template failed to parse or render (exit 1)
    ├── OutputRefused            --out points somewhere we must not replace (exit 1)
    ├── WriteFailed              the disk refused a write (full, read-only); site/ kept (exit 1)
    └── UsageError               bad command-line use (exit 2)

A ContentProblem is data, not a string: the location (path, line, field) stays
separate from the message so tests, the CLI and the serve overlay all format it
the same way with ``str(problem)`` -> ``path:line: field: message``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, slots=True)
class ContentProblem:
    """One thing wrong with the content, and where it is."""

    path: str
    """File path as shown to the user (relative to the project when possible)."""
    line: int | None
    """1-based line number, or None when the problem concerns the whole file."""
    field: str
    """Dotted field path such as ``people[2]`` or ``quotes[0].speaker``; '' for the file."""
    message: str
    """What is wrong and, where possible, what to do."""
    severity: str = "error"
    """'error' fails the build; 'warning' is reported and the build goes on."""

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        prefix = "" if self.severity == "error" else f" {self.severity}:"
        return f"{where}:{prefix}{field} {self.message}"

    def sort_key(self) -> tuple[str, int, str]:
        return (self.path, self.line or 0, self.field)


class DossierError(Exception):
    """Base of every error the command line reports without a traceback."""


class ContentErrors(DossierError):
    """Content problems, collected so that all of them are reported at once."""

    def __init__(self, problems: Iterable[ContentProblem]):
        self.problems = tuple(sorted(problems, key=ContentProblem.sort_key))
        super().__init__("\n".join(str(p) for p in self.problems))


class TemplateFailure(DossierError):
    """A template could not be compiled or rendered; names the template and line."""

    def __init__(self, template: str, line: int | None, message: str):
        self.template, self.line, self.message = template, line, message
        where = template if line is None else f"{template}:{line}"
        super().__init__(f"{where}: template error: {message}")


class OutputRefused(DossierError):
    """The output directory is not ours to replace."""


class WriteFailed(DossierError):
    """Writing the output failed part-way; the previous output is left as it was."""


class UsageError(DossierError):
    """The command line was used wrongly."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
