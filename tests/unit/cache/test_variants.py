"""British and American spellings of a word meet; other words stay apart."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, passes_both_ways
from tokenyard.cache.variants import american

SAME = [
    ("What colour should I paint a small living room?", "What color should I paint a small living room?"),
    ("How do I centre text in Microsoft Word?", "How do I center text in Microsoft Word?"),
    ("How do I organise my closet efficiently?", "How do I organize my closet efficiently?"),
    ("What causes anaemia?", "What causes anemia?"),
    ("What is the best way to analyse survey data?", "What is the best way to analyze survey data?"),
    ("How do I catalogue my book collection?", "How do I catalog my book collection?"),
    ("recomend some excercises to strenghten my knees", "Recommend some exercises to strengthen my knees."),
    ("How often should I rotate my tyres?", "How often should I rotate my tires?"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_spellings_of_one_word_meet(a, b):
    passes_both_ways(a, b)


@pytest.mark.parametrize(
    ("word", "kept"), [("four", "four"), ("hour", "hour"), ("flour", "flour"), ("acre", "acre"), ("genre", "genre"),
                       ("vogue", "vogue"), ("telling", "telling"), ("wise", "wise"), ("2nd", "2nd")]
)
def test_words_that_only_look_like_variants_are_kept(word, kept):
    assert american(word) == kept


def test_different_words_stay_different():
    fails_both_ways("How much flour is in a loaf of bread?", "How much fiber is in a loaf of bread?", "substitution")
