"""Which words are spelt as English words: the embedding model's own vocabulary decides.

A misspelling ("revrse", "adress") is rarely a whole word of the model's WordPiece
vocabulary (about 30,000 entries), while the word it misspells is. Two real words one
letter apart ("desert"/"dessert", "hotel"/"motel") are both in it, so they stay apart.
The vocabulary is read on first use, from the installed tokenizer package.
"""

from __future__ import annotations

import functools

import orjson

from tokenyard.cache.analysis import stem
from tokenyard.cache.variants import american
from tokenyard.errors import ConfigError

#: Shortest word taken for a misspelling: short words are one edit from too many others.
MIN_MISSPELT_LENGTH = 4
#: Shortest word when neither spelling is in the vocabulary (a dropped letter only).
MIN_UNKNOWN_LENGTH = 6


@functools.cache
def known_stems() -> frozenset[str]:
    """Stems of the alphabetic whole words in the model's vocabulary; empty if it is not installed."""
    from tokenyard.cache.embedding import default_model_files

    try:
        vocab = orjson.loads(default_model_files()[1].read_bytes())["model"]["vocab"]
    except (ConfigError, OSError, KeyError, orjson.JSONDecodeError):
        return frozenset()
    return frozenset(stem(american(word)) for word in vocab if word.isalpha())


def one_edit_apart(a: str, b: str) -> bool:
    """One letter inserted, dropped or changed."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def misspelling_of(word: str, candidates: set[str], known: frozenset[str]) -> str | None:
    """The one known candidate ``word`` misspells, or None.

    The first letter must agree: writers rarely get it wrong, and "ethanol"/"methanol"
    differ there (the rarer word of such a pair may be missing from the vocabulary).
    """
    if not known or word in known or len(word) < MIN_MISSPELT_LENGTH or not word.isalpha():
        return None
    matches = [w for w in candidates if w[0] == word[0] and _misspells(word, w, known)]
    return matches[0] if len(matches) == 1 else None


def _misspells(word: str, candidate: str, known: frozenset[str]) -> bool:
    """A known word one edit away; or an unknown one ("penicillin", "router" are not in the
    vocabulary) with one letter dropped, in words of at least ``MIN_UNKNOWN_LENGTH`` letters.

    Between two unknown words a changed letter is not taken: "alkane"/"alkene" are two words.
    """
    if candidate in known:
        return one_edit_apart(word, candidate)
    return max(len(word), len(candidate)) >= MIN_UNKNOWN_LENGTH and one_letter_dropped(word, candidate)


def one_letter_dropped(a: str, b: str) -> bool:
    """One word is the other with one letter left out."""
    return abs(len(a) - len(b)) == 1 and one_edit_apart(a, b)
