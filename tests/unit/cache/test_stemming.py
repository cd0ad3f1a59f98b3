"""The stemmer never turns a content word into a function word or a negation."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, passes_both_ways
from tokenyard.cache.analysis import analyse, stem

# Each of these once stemmed to a closed-class word: "note" -> "not" (a negation),
# "theme" -> "them", "cane" -> "can", "innings" -> "in" (fillers, so the word vanished).
SWAPPED = [
    ("Write a thank-you note to my teacher.", "Write a thank-you letter to my teacher."),
    ("How do I use a cane after knee surgery?", "How do I use crutches after knee surgery?"),
    ("Suggest a theme for a birthday party.", "Suggest a venue for a birthday party."),
    ("How many innings are in a baseball game?", "How many quarters are in a baseball game?"),
]


@pytest.mark.parametrize(("a", "b"), SWAPPED)
def test_a_word_that_looks_like_a_function_word_still_counts(a, b):
    fails_both_ways(a, b, "substitution")


def test_note_is_no_negation():
    assert analyse("Write a note to my landlord.").negations == 0
    assert "note" in analyse("Write a note to my landlord.").content


@pytest.mark.parametrize(
    ("word", "expected"),
    [("notes", "note"), ("exceptions", "exception"), ("themes", "theme"), ("cans", "cans"), ("noted", "noted"),
     ("does", "do"), ("freezing", "freez")],
)
def test_plurals_still_meet_their_singular(word, expected):
    assert stem(word) == expected


def test_inflections_of_a_verb_still_meet():
    passes_both_ways("How do I handle exceptions in Python?", "How does exception handling work in Python?")


def test_an_acronym_ending_in_s_is_no_plural():
    fails_both_ways("What port does HTTP use by default?", "What port does HTTPS use by default?", "unmatched_name")
    passes_both_ways("What is the difference between TRUNCATE and DELETE in SQL?",
                     "whats the diff between truncate and delete in sql")


def test_a_function_word_in_capitals_is_a_keyword():
    fails_both_ways("What does the HAVING clause do in SQL?", "What does the WHERE clause do in SQL?", "substitution")
    fails_both_ways("How does the IF function work in Excel?", "How does the OR function work in Excel?", "substitution")
    passes_both_ways("What is the difference between WHERE and HAVING in SQL?",
                     "whats the diff between where and having in sql")
    passes_both_ways("What is the difference between WHERE and HAVING in SQL?",
                     "What distinguishes HAVING from WHERE in SQL?")


def test_capitals_say_nothing_in_a_text_written_all_in_capitals():
    assert "what" not in analyse("WHAT IS THE CAPITAL OF FRANCE?").content
    assert "not" not in analyse("Why is my code NOT working?").content  # negations keep their own check
