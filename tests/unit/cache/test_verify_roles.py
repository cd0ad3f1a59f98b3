"""Phrases that trade places around one relation ask another question; moved phrases do not."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, never_for_reason
from tokenyard.cache.analysis import analyse
from tokenyard.cache.roles import role_swap

SWAPPED = [
    ("Write a thank-you note from a parent to their child's teacher.",
     "Write a thank-you note from a teacher to a student's parent."),
    ("In Python, is an instance of a subclass also an instance of its parent class?",
     "In Python, is an instance of a parent class also an instance of its subclass?"),
    ("We like food and art more than beaches. Suggest an itinerary for Italy.",
     "We like beaches more than food and art. Suggest an itinerary for Italy."),
    ("Is a square a rectangle?", "Is a rectangle a square?"),
]

NOT_SWAPPED = [
    ("Write a thank-you note from a parent to a teacher.", "Write a thank-you note to a teacher from a parent."),
    ("In Python, how do I sort a list?", "How do I sort a list in Python?"),
    ("What is the difference between TCP and UDP?", "What is the difference between UDP and TCP?"),
    ("Are cats and dogs mammals?", "Are dogs and cats mammals?"),
    ("Is a tomato a fruit or a vegetable?", "Is a tomato a vegetable or a fruit?"),
    ("Is a square a rectangle?", "Is a square also a rectangle?"),
]


@pytest.mark.parametrize(("a", "b"), SWAPPED)
def test_swapped_arguments_fail_on_both_sides(a: str, b: str) -> None:
    fails_both_ways(a, b, "order")


@pytest.mark.parametrize(("a", "b"), NOT_SWAPPED)
def test_moved_or_joined_arguments_are_no_swap(a: str, b: str) -> None:
    assert role_swap(analyse(a), analyse(b)) is None
    assert role_swap(analyse(b), analyse(a)) is None
    never_for_reason(a, b, "order")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Who does Macbeth kill?", "Who kills Macbeth?"),
        ("Which team did Brazil beat in 2014?", "Which team beat Brazil in 2014?"),
        ("What does a cat eat?", "What eats a cat?"),
        ("What do snakes eat?", "What animals eat snakes?"),
    ],
)
def test_question_word_as_subject_or_object(a, b):
    fails_both_ways(a, b, "order")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What do cats eat?", "What does a cat eat?"),
        ("What currency do they use in Thailand?", "What's Thailand's currency?"),
        ("What language is spoken in Brazil?", "Which language do people speak in Brazil?"),
        ("What port does HTTPS use by default?", "Which port is the default for HTTPS?"),
    ],
)
def test_question_word_in_the_same_role(a, b):
    never_for_reason(a, b, "order")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I paint latex paint over oil-based paint?", "How do I paint oil-based paint over latex paint?"),
        ("Can I put laminate flooring over tile?", "Can I put tile over laminate flooring?"),
    ],
)
def test_arguments_swapped_around_a_preposition(a, b):
    fails_both_ways(a, b, "order")

