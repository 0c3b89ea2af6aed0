"""Exact name comparison for matching an imported track by title and artist: case- and
accent-insensitive, like identity's search key, so "Björk" matches "bjork"."""

from __future__ import annotations

import unicodedata

# Letters with no decomposition that identity folds too.
_EXTRA_FOLDS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "þ": "th"})


def fold(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().translate(_EXTRA_FOLDS).split())


def credits_match(creator: str, artists: str) -> bool:
    """Whether `creator` names the credited `artists` (identity's ", "-joined names): all
    of them, or one of them."""
    wanted = fold(creator)
    return wanted == fold(artists) or wanted in (fold(a) for a in artists.split(", "))
