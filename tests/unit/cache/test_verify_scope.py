"""Flags, quantifiers, comparison partners and persons: same words, different question."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways
from tokenyard.cache.flags import flags
from tokenyard.cache.verify import verify

NEAR_MISSES = [
    # a differing or one-sided command-line flag
    ("What does `tar -xzf` do?", "What does `tar -czf` do?", "flag"),
    ("What does `git push --force` do?", "What does `git push` do?", "flag"),
    ("What does `du -h` do?", "What does `du -s` do?", "flag"),
    # all against one, both or a
    ("How do I kill a running process on Linux?", "How do I kill all running processes on Linux?", "quantifier"),
    ("Write a query that updates one row in the orders table.",
     "Write a query that updates every row in the orders table.", "quantifier"),
    ("How do I trim spaces from both sides of a string?", "How do I strip all spaces from a string?", "quantifier"),
    ("Name one planet with rings.", "Name all the planets with rings.", "quantifier"),
    # each side compares something the other does not
    ("What is the difference between a crocodile and an alligator?",
     "What is the difference between an alligator and a caiman?", "comparison_partner"),
    ("Is tea healthier than coffee?", "Is coffee healthier than soda?", "comparison_partner"),
    # the asker against a third person
    ("What should I do if I snore?", "What should I do if he snores?", "person"),
]

PARAPHRASES = [
    # the same flags, bundled or apart, in another sentence
    ("What does `rm -rf` do?", "What is the effect of `rm -fr`?"),
    ("What does `ls -la` do?", "Explain what `ls -l -a` does."),
    # hyphenated words and negative numbers are not flags
    ("How do I send an e-mail in Python?", "How do I send an email in Python?"),
    ("What is -5 squared?", "What is -5 squared?"),
    # a quantifier on one side only, or the same class on both
    ("List all the planets in the solar system.", "List the planets in the solar system."),
    ("How do I delete all files in a folder?", "How do I delete every file in a folder?"),
    ("Describe Mars in one paragraph.", "Describe Mars in a paragraph."),
    # the same pair compared in another order or frame
    ("What is the difference between a crocodile and an alligator?",
     "How is an alligator different from a crocodile?"),
    ("What is the difference between a simile and a metaphor?",
     "What's the difference between a metaphor and a simile?"),
    # my or your, and a pronoun referring back inside one side
    ("Why won't my printer connect?", "Why won't your printer connect?"),
    ("How do I reset my phone?", "How do I reset her phone?"),
]


@pytest.mark.parametrize(("stored", "asked", "reason"), NEAR_MISSES)
def test_near_misses_fail_on_both_sides(stored, asked, reason):
    fails_both_ways(stored, asked, reason)


@pytest.mark.parametrize(("stored", "asked"), PARAPHRASES)
def test_paraphrases_pass(stored, asked):
    verdict = verify(asked, stored)
    assert verdict.ok, verdict


def test_flags_split_bundles_and_keep_long_flags_whole():
    assert flags("rm -rf /tmp") == {"-r", "-f"}
    assert flags("git push --force-with-lease") == {"--force-with-lease"}
    assert flags("an e-mail, -5 degrees, a - b") == frozenset()
