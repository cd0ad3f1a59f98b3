"""A modifier or phrase on one side only that narrows a noun both sides share."""

from __future__ import annotations

import pytest

from tokenyard.cache.verify import verify

NEAR_MISSES = [
    # a classifying word opening the noun phrase, after a request verb, a preposition or a possessive
    ("Recommend hiking boots.", "Recommend waterproof hiking boots."),
    ("How many keys does a standard piano have?", "How many white keys does a standard piano have?"),
    ("What is the formula for interest?", "What is the formula for compound interest?"),
    ("What should I do if my neighbour snores?", "What should I do if I snore?"),
    # a trailing "with" phrase, and "for each X" after a determiner
    ("Plan a weekend in Rome.", "Plan a weekend in Rome with a dog."),
    ("Write a SQL query that counts orders.", "Write a SQL query that counts orders for each customer."),
    # a conjunct joined to a shared noun widens what is asked
    ("How do I copy all images in a folder?", "How do I copy all images in a folder and its subfolders?"),
    ("What are the symptoms of measles?", "What are the causes and symptoms of measles?"),
]

PARAPHRASES = [
    # an evaluative adjective grades the noun without naming a narrower kind
    ("What are the main causes of inflation?", "What causes inflation?"),
    ("Suggest good books about space.", "Suggest books about space."),
    ("What are the common side effects of aspirin?", "What side effects does aspirin have?"),
    # an adverb after the subject is not a noun modifier
    ("How do I properly boil an egg?", "How do I boil an egg?"),
    # "the reason" asks what "why" asks
    ("Why is the sky blue?", "What is the reason the sky is blue?"),
    # the same "with" and "each" phrases on both sides
    ("Plan a weekend in Rome with a dog.", "Plan a weekend with a dog in Rome."),
    ("Write a SQL query that counts orders for each customer.", "Write a SQL query counting orders for every customer."),
    # the same conjuncts in another order
    ("What are the causes and symptoms of measles?", "What are the symptoms and causes of measles?"),
]


@pytest.mark.parametrize(("stored", "asked"), NEAR_MISSES)
def test_one_sided_qualifiers_fail_on_both_sides(stored, asked):
    for one, other in ((asked, stored), (stored, asked)):
        verdict = verify(one, other)
        assert verdict.reason == "qualifier", verdict


@pytest.mark.parametrize(("stored", "asked"), PARAPHRASES)
def test_paraphrases_pass(stored, asked):
    verdict = verify(asked, stored)
    assert verdict.ok, verdict



@pytest.mark.parametrize(
    ("stored", "asked"),
    [
        ("Who wrote Pride and Prejudice?", "Who is the author of the novel Pride and Prejudice?"),
        ("Who played Jack in Titanic?", "Who played Jack in the movie Titanic?"),
    ],
)
def test_a_noun_naming_what_a_name_is_narrows_nothing(stored, asked):
    for one, other in ((asked, stored), (stored, asked)):
        assert verify(one, other).ok, verify(one, other)


def test_a_noun_before_a_common_noun_still_narrows():
    assert verify("How many keys does a piano have?", "How many white keys does a piano have?").reason == "qualifier"
