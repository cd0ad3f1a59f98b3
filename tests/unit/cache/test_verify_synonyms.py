"""Clipped forms and synonyms meet; an acronym still meets its expansion through a synonym."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import passes_both_ways
from tokenyard.cache.analysis import initials
from tokenyard.cache.verify import verify

PARAPHRASES = [
    # clipped forms
    ("How do I set an env var in bash?", "How do I set an environment variable in bash?"),
    ("What's the diff between a VM and a container?", "What is the difference between a VM and a container?"),
    ("How do I clone a repo from GitHub?", "How do I clone a repository from GitHub?"),
    ("How do I scale a deployment in k8s?", "How do I scale a deployment in Kubernetes?"),
    # synonyms
    ("What triggers migraines?", "What causes migraines?"),
    ("What was the main cause of the Great Depression?", "What was the primary cause of the Great Depression?"),
    ("How do I get rid of aphids on my roses?", "How do I eliminate aphids on my roses?"),
    # an acronym whose expansion has a word mapped to a synonym with another first letter
    ("When was the UN founded?", "When was the United Nations founded?"),
    ("How does PCA work?", "How does principal component analysis work?"),
    ("What is a PK in SQL?", "What is a primary key in SQL?"),
]


@pytest.mark.parametrize(("stored", "asked"), PARAPHRASES)
def test_paraphrases_pass_on_both_sides(stored, asked):
    passes_both_ways(stored, asked)


def test_a_synonym_keeps_its_antonym():
    assert verify("What are the risks of Kafka?", "What are the benefits of Kafka?").reason == "antonym"
    assert verify("What are the risks of Kafka?", "What are the advantages of Kafka?").reason == "antonym"


def test_initials_include_every_spelling_of_a_canonical_word():
    assert initials("country") == {"c", "n"}
    assert initials("python") == {"p"}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the difference between baking soda and baking powder?", "How does baking soda differ from baking powder?"),
        ("What is the difference between APR and APY?", "How is APY different from APR?"),
    ],
)
def test_a_difference_between_two_things_asked_either_way(a, b):
    passes_both_ways(a, b)


def test_a_difference_between_other_things_is_another_question():
    assert not verify("What is the difference between APR and APY?", "How is APR different from a mortgage rate?").ok


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("What is the ROI of a rental property?", "What is the return on investment of a rental property?"),
        ("Please explain how DNS works", "Please explain how the Domain Name System works"),
    ],
)
def test_an_acronym_whose_expansion_holds_function_words(a, b):
    passes_both_ways(a, b)


def test_one_word_and_function_words_spell_no_acronym():
    # "top of a" has the initials of TOA, but only one word of its own.
    assert verify("How big is the TOA?", "How big is the top of a tree?").reason == "unmatched_name"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("sql inner join vs left join", "What is the difference between an inner join and a left join in SQL?"),
        ("Suggest a name for a golden retriever puppy.", "Could you suggest a name for a golden retriever puppy? Thanks in advance."),
        ("Proofread this: 'Their going to the libary.'", "Please proofread the following: 'Their going to the libary.'"),
    ],
)
def test_frames_that_ask_nothing(a, b):
    passes_both_ways(a, b)


def test_while_is_still_a_loop():
    assert not verify("How do I write a for loop in Java?", "How do I write a while loop in Java?").ok


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Who painted the Mona Lisa?", "Who was the painter of the Mona Lisa?"),
        ("Write a regex to match a US ZIP code.", "What regular expression matches US ZIP codes?"),
        ("Which ocean is the largest?", "What's the biggest ocean on Earth?"),
        ("Translate 'I love you' into Italian.", "Could you tell me how to say 'I love you' in Italian?"),
        ("How do I log out of my account on all devices?", "How do I sign out of my account on all devices?"),
    ],
)
def test_common_rewordings(a, b):
    passes_both_ways(a, b)


def test_a_specific_noun_at_the_end_where_the_other_has_a_placeholder():
    assert verify("Who is the richest person in the world?", "Who is the richest woman in the world?").reason == "qualifier"


def test_go_the_language_is_golang_and_no_verb():
    passes_both_ways("How do I parse JSON in Go?", "What's the way to parse JSON in Golang?")
    assert verify("How do I parse JSON in Go?", "How do I parse JSON in Rust?").reason == "unmatched_name"
    assert not verify("How do I parse JSON in Go?", "How do I parse JSON?").ok
    passes_both_ways("How do I go to the settings page?", "How do I get to the settings page?")
