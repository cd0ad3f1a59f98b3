"""Numbers written as words: "twenty five" is 25, "the sixteenth" is 16, a lone "one" is "a"."""

from __future__ import annotations

import re

from tokenyard.cache.lexicon import NUMBER_WORDS, ORDINAL_DETERMINERS, ORDINALS

NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_DIGIT_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_MULTIPLIERS = (100, 1000, 1_000_000, 1_000_000_000)


def merge_number_words(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for i, token in enumerate(tokens):
        value = NUMBER_WORDS.get(token)
        if value is None:
            out.append(token)
            continue
        following = NUMBER_WORDS.get(tokens[i + 1]) if i + 1 < len(tokens) else None
        after_tens = bool(out) and NUMBER.match(out[-1]) is not None and float(out[-1]) >= 20
        if token == "one" and following not in _MULTIPLIERS and not after_tens:
            # "in one paragraph" asks what "in a paragraph" asks, "a new one" is a pronoun:
            # alone, "one" is the article, not a count ("twenty one", "one hundred" still are).
            out.append(token)
            continue
        previous = out[-1] if out and NUMBER.match(out[-1]) else None
        if previous is not None and value in _MULTIPLIERS:
            out[-1] = str(int(float(previous) * value))
        elif previous is not None and value < 10 and float(previous) % 10 == 0 and float(previous) >= 20:
            out[-1] = str(int(float(previous)) + value)
        else:
            out.append(str(value))
    return out


def ordinals_as_numbers(raw: list[str]) -> list[str]:
    """Positions as numbers: "the second largest" has a 2, "16th" and "sixteenth" a 16."""
    out = []
    for i, token in enumerate(raw):
        digits = _DIGIT_ORDINAL.match(token)
        value = int(digits.group(1)) if digits else ORDINALS.get(token)
        if token == "second" and not (i and raw[i - 1] in ORDINAL_DETERMINERS):
            value = None  # the unit of time
        if value == 1:
            out.append("first")
        else:
            out.append(str(value) if value is not None else token)
    return out
