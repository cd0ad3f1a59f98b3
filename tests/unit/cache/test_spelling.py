"""A word the model's vocabulary lacks, one letter from a word it has, is a misspelling."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import passes_both_ways
from tokenyard.cache.spelling import known_stems, one_edit_apart
from tokenyard.cache.verify import verify

needs_vocabulary = pytest.mark.skipif(not known_stems(), reason="the tokenizer package is not installed")


@needs_vocabulary
@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("How do I reverse a string in Go?", "how do i revrse a string in go"),
        ("What are the health benefits of tea?", "What are the helth benefits of tea?"),
        ("How do I change my address?", "How do I change my adress?"),
    ],
)
def test_misspellings_meet_the_word(stored, asked):
    assert verify(asked, stored).ok, verify(asked, stored)


@needs_vocabulary
@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        # both are words: one letter apart is still another word
        ("What is a good desert to visit?", "What is a good dessert to visit?"),
        ("Is this hotel near the beach?", "Is this motel near the beach?"),
        # a different first letter is not taken for a typo, even where one word is rare
        ("What is the boiling point of ethanol?", "What is the boiling point of methanol?"),
    ],
)
def test_real_words_one_letter_apart_stay_apart(stored, asked):
    assert not verify(asked, stored).ok


def test_one_edit_apart():
    assert one_edit_apart("adress", "address")
    assert one_edit_apart("helth", "health")
    assert one_edit_apart("grean", "green")
    assert not one_edit_apart("revrs", "reverse")
    assert not one_edit_apart("same", "same")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Who discovered penicillin?", "who discoverd penicilin?"),
        ("What is the Fibonacci sequence?", "what is the fibonaci sequence"),
    ],
)
def test_a_dropped_letter_in_a_word_the_vocabulary_lacks(a, b):
    passes_both_ways(a, b)


def test_a_changed_letter_between_two_unknown_words_is_another_word():
    assert not verify("What is an alkane?", "What is an alkene?").ok
