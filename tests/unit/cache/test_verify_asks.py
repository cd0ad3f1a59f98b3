"""Same words, another thing asked: swapped ends, opposite comparisons, operators, question words, tasks."""

from __future__ import annotations

import pytest

from tokenyard.cache.verify import verify

NEAR_MISSES = [
    # two directions whose ends trade places
    ("I have a pandas DataFrame in wide format with one column per year. How do I reshape it into long format?",
     "I have a pandas DataFrame in long format with one column per year. How do I reshape it into wide format?",
     "direction"),
    ("Move the files in the downloads folder into the backup folder.",
     "Move the files in the backup folder into the downloads folder.", "direction"),
    # opposite comparisons
    ("Write a SQL query to find departments with more than 10 employees.",
     "Write a SQL query to find departments with fewer than 10 employees.", "antonym"),
    ("Is 7 greater than 5?", "Is 7 less than 5?", "antonym"),
    ("Which is larger, a mole or a vole?", "Which is smaller, a mole or a vole?", "antonym"),
]

PARAPHRASES = [
    # the same directions, split over two sentences or moved
    ("I have a DataFrame in wide format. How do I reshape it into long format?",
     "How do I reshape my DataFrame in wide format into long format?"),
    ("How do I copy files from a folder in Linux to a USB drive?",
     "In Linux, how do I copy files from a folder to a USB drive?"),
    # the same comparison in other words
    ("Find customers with fewer than 5 orders.", "Find customers with less than 5 orders."),
    ("Find customers with more than 5 orders.", "Find customers with greater than 5 orders."),
]


@pytest.mark.parametrize(("stored", "asked", "reason"), NEAR_MISSES)
def test_near_misses_fail_on_both_sides(stored, asked, reason):
    for one, other in ((asked, stored), (stored, asked)):
        verdict = verify(one, other)
        assert not verdict.ok, f"{one!r} passed against {other!r}"
        assert verdict.reason == reason, verdict


@pytest.mark.parametrize(("stored", "asked"), PARAPHRASES)
def test_paraphrases_pass_on_both_sides(stored, asked):
    for one, other in ((asked, stored), (stored, asked)):
        verdict = verify(one, other)
        assert verdict.ok, f"{one!r} failed against {other!r}: {verdict}"
