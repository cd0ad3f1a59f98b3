"""The tense on a question's own auxiliary: future, past and present ask different things."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, never_for_reason
from tokenyard.cache.tense import question_tense

DIFFERENT_TENSE = [
    ("How will AI change the job market?", "How has AI changed the job market?"),
    ("What does Nokia make?", "What did Nokia make when it was founded?"),
    ("Does Python support tail call optimisation?", "Will Python support tail call optimisation?"),
]

SAME_OR_UNMARKED = [
    ("How has AI changed the job market?", "How did AI change the job market?"),
    ("What changed in Python 3.12?", "What has changed in Python 3.12?"),
    ("How does a trust differ from a will?", "What is the difference between a will and a trust?"),
    ("How many partitions should a Kafka topic have?",
     "How do I choose the number of partitions for a Kafka topic?"),
    ("How do I count the lines in a file?", "What command tells me how many lines a file has?"),
    ("Who is the CEO of Nokia?", "Who was the CEO of Nokia?"),
]


@pytest.mark.parametrize(("a", "b"), DIFFERENT_TENSE)
def test_different_tenses_fail_on_both_sides(a: str, b: str) -> None:
    fails_both_ways(a, b, "tense")


@pytest.mark.parametrize(("a", "b"), SAME_OR_UNMARKED)
def test_same_or_unmarked_tenses_are_no_difference(a: str, b: str) -> None:
    never_for_reason(a, b, "tense")


def test_tense_is_read_from_the_main_clause_only():
    assert question_tense("What did Nokia make when it was founded?") == "past"
    assert question_tense("What does it make now that it has sold its phone business?") == "present"
    assert question_tense("How will AI change jobs?") == "future"
    assert question_tense("What is a will?") is None
    assert question_tense("I wrote a script. How do I run it?") == "present"
