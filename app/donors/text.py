"""Normalised text for search and duplicate finding: unaccented, case-folded, spaces collapsed."""

from __future__ import annotations

import re
import unicodedata

from ..common.search import fold

__all__ = ["clean", "fold", "name_key"]

_SPACES = re.compile(r"\s+")
_NOT_WORD = re.compile(r"[\W_]+")


def name_key(text: str | None) -> str:
    """The key two spellings of one name share: folded, punctuation dropped ('Ford-Foundation.')."""
    return _SPACES.sub(" ", _NOT_WORD.sub(" ", fold(text))).strip()


def clean(text: str | None) -> str:
    """What a person typed, without NUL and other control characters except line breaks and tabs."""
    return "".join(char for char in (text or "") if char in "\n\t" or unicodedata.category(char) != "Cc")
