"""A quote on one side meets the same words written bare on the other, and nothing else."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, passes_both_ways
from tokenyard.cache.verify import verify

SAME = [
    ("What does 'carpe diem' mean?", "What's the meaning of the phrase carpe diem?"),
    ("Translate 'good night' into Korean.", "translate good night into korean"),
    ("When should I use 'who' vs 'whom'?", "When should I use who versus whom?"),
    ("Who sang 'Bohemian Rhapsody'?", "Who sang Bohemian Rhapsody?"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_quoted_and_bare_words_meet(a, b):
    passes_both_ways(a, b)


def test_other_bare_words_are_still_other_words():
    fails_both_ways("What does 'carpe diem' mean?", "What's the meaning of the phrase carpe noctem?", "quoted_text")


def test_a_quote_met_bare_still_needs_the_rest_to_match():
    assert not verify("Translate 'good morning' into Spanish.", "Translate good morning into German.").ok
