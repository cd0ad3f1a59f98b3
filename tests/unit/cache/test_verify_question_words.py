"""Question words within one family that still ask for different answers: how often vs how, why vs which/what."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, passes_both_ways
from tokenyard.cache.analysis import analyse
from tokenyard.cache.intent import question_word_conflict

NEAR_MISSES = [
    ("How often should I change my car's oil?", "How do I change my car's oil?"),
    ("How frequently should I water a cactus?", "How should I water a cactus?"),
    ("Which vegetables grow well in shade?", "Why do some vegetables grow well in shade?"),
    ("What is photosynthesis?", "Why is photosynthesis important?"),
    ("What is the Treaty of Versailles?", "Who signed the Treaty of Versailles?"),
]

PARAPHRASES = [
    ("Why is the sky blue?", "What makes the sky blue?"),
    ("Why is the sky blue?", "What is the reason the sky is blue?"),
    ("Why do leaves change color in autumn?", "What causes leaves to change color in autumn?"),
    ("Why should I use Docker?", "What are the benefits of using Docker?"),
    ("My sourdough bread comes out too dense. What am I doing wrong?", "Why is my sourdough bread so dense?"),
    ("Who invented the telephone?", "Who was the inventor of the telephone?"),
    ("Who invented the telephone?", "What is the name of the person who invented the telephone?"),
    ("Who was Napoleon?", "What is Napoleon known for?"),
]

# Pairs whose question words agree, though other words may still tell them apart.
SAME_KIND = [
    ("How often should I water a cactus?", "How many times a week should I water a cactus?"),
    ("How often should I back up my laptop?", "How frequently should I back up my laptop?"),
    ("How long should I boil an egg?", "How many minutes should I boil an egg?"),
    ("How many partitions should a Kafka topic have?", "How do I choose the number of partitions?"),
]


@pytest.mark.parametrize(("a", "b"), NEAR_MISSES)
def test_near_misses_fail_on_both_sides(a: str, b: str) -> None:
    fails_both_ways(a, b, "question_word")


@pytest.mark.parametrize(("a", "b"), PARAPHRASES)
def test_paraphrases_pass_on_both_sides(a: str, b: str) -> None:
    passes_both_ways(a, b)


@pytest.mark.parametrize(("a", "b"), SAME_KIND + PARAPHRASES)
def test_question_words_of_one_kind_do_not_conflict(a: str, b: str) -> None:
    assert question_word_conflict(analyse(a), analyse(b)) is None
    assert question_word_conflict(analyse(b), analyse(a)) is None
