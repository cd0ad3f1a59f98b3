"""Numbers written as words: "twenty five" is 25, "the sixteenth" is 16, a lone "one" is "a"."""

from __future__ import annotations

import re

from tokenyard.cache.lexicon import NUMBER_WORDS, ORDINAL_DETERMINERS, ORDINALS

NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_DIGIT_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_MULTIPLIERS = (100, 1000, 1_000_000, 1_000_000_000)


def merge_number_words(tokens: list[str]) -> list[str]:
    """Runs of number words as one number: "two hundred twenty five" is 225, "5 million" 5000000."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in NUMBER_WORDS:
            out.append(tokens[i])
            i += 1
            continue
        words, i = _number_run(tokens, i)
        after_tens = bool(out) and NUMBER.match(out[-1]) is not None and float(out[-1]) >= 20
        if words == ["one"] and not after_tens:
            # "in one paragraph" asks what "in a paragraph" asks, "a new one" is a pronoun:
            # alone, "one" is the article, not a count ("twenty one", "one hundred" still are).
            out.append("one")
            continue
        previous = out[-1] if out and NUMBER.match(out[-1]) else None
        first = NUMBER_WORDS[words[0]]
        if previous is not None and (first in _MULTIPLIERS or words[0] == "dozen"):
            out[-1] = str(int(float(previous) * _value(words)))  # "5 million", "2 dozen"
        elif previous is not None and len(words) == 1 and first < 10 and float(previous) % 10 == 0 and float(previous) >= 20:
            out[-1] = str(int(float(previous)) + first)  # "20 five": tens in digits, the unit in words
        else:
            out.append(str(_value(words)))
    return _with_halves(out)


def _with_halves(tokens: list[str]) -> list[str]:
    """"2 and a half" is 2.5."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if NUMBER.match(tokens[i]) and tokens[i + 1 : i + 4] == ["and", "a", "half"]:
            out.append(f"{float(tokens[i]) + 0.5:g}")
            i += 4
            continue
        out.append(tokens[i])
        i += 1
    return out


def _number_run(tokens: list[str], i: int) -> tuple[list[str], int]:
    """The number words of one number from ``i`` ("and" allowed after hundred/thousand), and where it ends."""
    words = [tokens[i]]
    i += 1
    while i < len(tokens):
        token = tokens[i]
        if token == "and" and NUMBER_WORDS[words[-1]] in _MULTIPLIERS and i + 1 < len(tokens) and NUMBER_WORDS.get(tokens[i + 1], 100) < 100:
            i += 1  # "one hundred and five"
            continue
        value, last = NUMBER_WORDS.get(token), NUMBER_WORDS[words[-1]]
        if value is None:
            break
        # Two small numbers in a row are two numbers ("five six"), except tens then units ("twenty five").
        if value < 100 and last < 100 and not (last >= 20 and last % 10 == 0 and value < 10):
            break
        words.append(token)
        i += 1
    return words, i


def _value(words: list[str]) -> int:
    total = current = 0
    for word in words:
        value = NUMBER_WORDS[word]
        if word == "dozen":
            current = max(current, 1) * 12
        elif value == 100:
            current = max(current, 1) * 100
        elif value >= 1000:
            total += max(current, 1) * value
            current = 0
        else:
            current += value
    return total + current


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
