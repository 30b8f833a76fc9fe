"""Counted nouns in what the tool says: ``counted(1, "warning")`` is "1 warning"."""

from __future__ import annotations


def counted(number: int, noun: str, nouns: str | None = None) -> str:
    """``number`` and the noun in the form that goes with it (``nouns``: an irregular
    plural; by default the noun with an s)."""
    return f"{number} {noun if number == 1 else nouns or noun + 's'}"
