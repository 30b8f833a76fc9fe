"""Verify that every quote appears verbatim in an archived copy of its source.

Pure: takes the linked dossier and {archive file name: text}; returns the mismatches
as located problems. Matching tolerates typographic quote marks, apostrophes and
whitespace differences, nothing else: a changed word or comma is a mismatch.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from .errors import ContentProblem
from .link import Dossier
from .model import Quote, Source

_SINGLE = dict.fromkeys(map(ord, "‘’‚‛′`´"), "'")
_DOUBLE = dict.fromkeys(map(ord, "“”„‟″«»"), '"')
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Fold typographic quote marks to ASCII and runs of whitespace to one space."""
    text = unicodedata.normalize("NFC", text).translate(_SINGLE).translate(_DOUBLE)
    return _SPACE.sub(" ", text.replace("\u00a0", " ")).strip()


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Outcome of verifying quotes against archived sources."""

    problems: tuple[ContentProblem, ...]
    """One per quote not found verbatim."""
    verified: int
    """Quotes found verbatim."""
    unverifiable: tuple[str, ...]
    """Ids of quotes whose source has no archived copy in the folder."""

    def summary(self) -> str:
        text = f"{self.verified} quotes verified verbatim, {len(self.problems)} mismatches"
        if self.unverifiable:
            text += f", {len(self.unverifiable)} without an archived source copy"
        return text


def archive_names(dossier: Dossier) -> list[str]:
    """File names of every archived copy the sources declare."""
    return [s.archive for s in dossier.sources if s.archive]


def check_quotes(dossier: Dossier, archive: dict[str, str]) -> CheckResult:
    """Check each quote against the archived copy of the source it cites."""
    normalized = {name: normalize(text) for name, text in archive.items()}
    problems, verified, unverifiable = [], 0, []
    for quote in dossier.quotes:
        source = dossier.entities[quote.source.source.slug]
        assert isinstance(source, Source)
        haystack = normalized.get(source.archive or "")
        if haystack is None:
            unverifiable.append(quote.id)
        elif normalize(quote.text) in haystack:
            verified += 1
        else:
            problems.append(_mismatch(quote, source, haystack))
    return CheckResult(tuple(problems), verified, tuple(unverifiable))


def _mismatch(quote: Quote, source: Source, haystack: str) -> ContentProblem:
    needle = normalize(quote.text)
    closest = _closest(needle, haystack)
    hint = f"; nearest passage: …{closest}…" if closest else ""
    return ContentProblem(quote.path, quote.line, quote.field,
                          f"quote '{quote.id}' is not verbatim in the archived copy of "
                          f"'{source.slug}' ({source.archive}){hint}")


def _closest(needle: str, haystack: str) -> str:
    """The passage of the haystack most like the needle, for the error message."""
    if not needle or not haystack:
        return ""
    matcher = difflib.SequenceMatcher(None, haystack, needle, autojunk=False)
    match = matcher.find_longest_match(0, len(haystack), 0, len(needle))
    if match.size < min(12, len(needle)):
        return ""
    start = max(0, match.a - match.b)
    start = haystack.rfind(" ", 0, start + 1) + 1 if start else 0
    end = start + len(needle) + len(needle) // 5
    end = haystack.find(" ", end) if haystack.find(" ", end) != -1 else len(haystack)
    return haystack[start:end].strip()
