"""Normalised text for search and duplicate finding: unaccented, case-folded, spaces collapsed."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def fold(text: str | None) -> str:
    """'  São  PAULO ' -> 'sao paulo': accents removed, case folded, whitespace collapsed."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    # Control characters (NUL among them, which PostgreSQL refuses) never belong in a search.
    unaccented = "".join(
        char for char in decomposed if not unicodedata.combining(char) and unicodedata.category(char) != "Cc"
    )
    # A few letters have no decomposition but an obvious plain spelling.
    unaccented = unaccented.translate(_PLAIN_LETTERS)
    return _SPACES.sub(" ", unaccented.casefold()).strip()


_PLAIN_LETTERS = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae"}
)


def name_key(text: str | None) -> str:
    """The key two spellings of one name share: folded, punctuation dropped ('Ford-Foundation.')."""
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", fold(text))).strip()


def clean(text: str | None) -> str:
    """What a person typed, without NUL and other control characters except line breaks and tabs."""
    return "".join(char for char in (text or "") if char in "\n\t" or unicodedata.category(char) != "Cc")
