"""Numbers written in words become the numbers they name; separate numbers stay separate."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, passes_both_ways
from tokenyard.cache.numbers import merge_number_words


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("two hundred twenty five", ["225"]),
        ("one hundred and five", ["105"]),
        ("two thousand three hundred", ["2300"]),
        ("thirty five thousand", ["35000"]),
        ("5 million", ["5000000"]),
        ("two dozen", ["24"]),
        ("twenty one", ["21"]),
        ("five six", ["5", "6"]),
        ("a new one", ["a", "new", "one"]),
    ],
)
def test_number_words(words, expected):
    assert merge_number_words(words.split()) == expected


def test_numbers_in_words_meet_digits():
    passes_both_ways("What is the square root of 225?", "What's the square root of two hundred twenty-five?")
    passes_both_ways("What caused World War I?", "What were the causes of the First World War?")
    passes_both_ways("I was charged twice for my order.", "I was charged 2 times for my order.")


def test_other_numbers_in_words_do_not():
    fails_both_ways("What is the square root of 225?", "What's the square root of two hundred twenty?", "numbers")
    fails_both_ways("What caused World War I?", "What were the causes of the Second World War?", "numbers")


def test_halves_and_powers_in_words():
    passes_both_ways("Convert 2.5 hours to minutes.", "Convert two and a half hours to minutes.")
    passes_both_ways("What is 7 cubed?", "What is seven to the power of three?")
    passes_both_ways("What is the derivative of x squared?", "What's the derivative of x^2?")
    fails_both_ways("What is 7 cubed?", "What is 7 squared?", "numbers")
