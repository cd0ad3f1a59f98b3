"""Direction swaps where an end is an "X of Y" phrase or a function word."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, never_for_reason


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I convert a string to a list in Python?", "How do I convert a list of characters to a string in Python?"),
        ("Rank these plants from most to least drought tolerant.", "Rank these plants from least to most drought tolerant."),
    ],
)
def test_swapped_ends(a, b):
    fails_both_ways(a, b, "direction")


def test_the_same_ends_in_other_words():
    never_for_reason("How do I convert a list of characters to a string?", "How do I turn a list of chars into a string?", "direction")
    never_for_reason("Sort them from most to least expensive.", "Sort them from most to least costly.", "direction")


def test_rates_swapped_around_to():
    fails_both_ways("How do I convert kilometers per hour to minutes per mile?",
                    "How do I convert minutes per mile to kilometers per hour?", "direction")
