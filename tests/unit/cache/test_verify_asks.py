"""Same words, another thing asked: swapped ends, opposite comparisons, operators, question words, tasks."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, never_for_reason, passes_both_ways
from tokenyard.cache.analysis import analyse
from tokenyard.cache.intent import answer_kind
from tokenyard.cache.operators import operator_difference, operators

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
    # another operator between the same operands, typed or spelt out
    ("Solve for x: 2x + 6 = 14.", "Solve for x: 2x - 6 = 14.", "operator"),
    ("Is x < 5 when x = 3?", "Is x > 5 when x = 3?", "operator"),
    ("What is 7 plus 8?", "What is 7 times 8?", "operator"),
    # a question word asking for another kind of answer
    ("Who discovered penicillin?", "When was penicillin discovered?", "question_word"),
    ("Why did the Roman Empire fall?", "When did the Roman Empire fall?", "question_word"),
    ("How was penicillin discovered?", "Who discovered penicillin?", "question_word"),
    # each side asks for an operation the other does not
    ("Find the bug in this code: for i in range(10) print(i)",
     "Explain what this code does: for i in range(10) print(i)", "operation"),
    ("How do I find the PID of a running process in Linux?", "How do I kill a running process by its PID in Linux?",
     "operation"),
    ("Fix this code: x = 1 + '2'", "Explain this code: x = 1 + '2'", "operation"),
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
    # the same operators, typed or spelt out; an operator on one side only; hyphens and pluses in names
    ("Solve for x: 2x + 6 = 14.", "What is x if 2x + 6 = 14?"),
    ("What is 12 times 12?", "What is 12 multiplied by 12?"),
    ("How do I send an e-mail in Python?", "How do I send an email in Python?"),
    ("What is the difference between C++ and C#?", "How does C++ differ from C#?"),
    # "what"/"which" name no kind of their own; a question word inside a sentence opens no question
    ("How do I reverse a list in Python?", "What is the way to reverse a list in Python?"),
    ("When did World War II end?", "What year did World War II end?"),
    ("Why is the sky blue?", "What is the reason the sky is blue?"),
    ("Who invented the telephone?", "Who was the inventor of the telephone?"),
    ("Who wrote Hamlet?", "Tell me who wrote Hamlet."),
    ("I get an error when I run my script. How do I fix it?", "How do I fix the error I get running my script?"),
    # "how many" is a how-question too
    ("How many partitions should a Kafka topic have?", "How do I choose the number of partitions for a Kafka topic?"),
    # operations of one class, or one side naming none of its own
    ("Describe the water cycle.", "Explain the water cycle."),
    ("How do I kill a process in Linux?", "How do I terminate a process in Linux?"),
    ("Explain how to find the largest file in a directory.", "How do I find the largest file in a directory?"),
]


def test_answer_kind_is_read_from_the_question_word_opening_a_sentence():
    assert answer_kind(analyse("Who discovered penicillin?")) == "person"
    assert answer_kind(analyse("The man who discovered it. When did he die?")) == "time"
    assert answer_kind(analyse("What year did the war end? When was the treaty signed?")) is None
    assert answer_kind(analyse("Tell me when the war ended.")) is None


def test_operators_are_read_between_operands_only():
    assert operators("Solve for x: 2x + 6 = 14.") == ("+", "=")
    assert operators("(a + b) * c, x = -5") == ("+", "*", "=")
    assert operators("12 divided by 4, 3 times 4") == ("/", "*")
    assert operators("C++ and C#, e-mail, -5, and/or, km/h, how many times a day") == ()


def test_an_operator_on_one_side_only_is_no_difference():
    assert operator_difference("What is 3/4 plus 1/8?", "Add 3/4 and 1/8.") is None
    assert operator_difference("2x + 6 = 14", "2x - 6 = 14") == "+ vs -"


@pytest.mark.parametrize(("stored", "asked", "reason"), NEAR_MISSES)
def test_near_misses_fail_on_both_sides(stored, asked, reason):
    fails_both_ways(stored, asked, reason)


@pytest.mark.parametrize(("stored", "asked"), PARAPHRASES)
def test_paraphrases_pass_on_both_sides(stored, asked):
    passes_both_ways(stored, asked)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How much does an adult African elephant weigh?", "How tall is an adult African elephant?"),
        ("How old is the Eiffel Tower?", "How tall is the Eiffel Tower?"),
        ("How deep is Lake Baikal?", "How wide is Lake Baikal?"),
    ],
)
def test_measuring_another_dimension_is_another_question(a, b):
    fails_both_ways(a, b, "measure")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How heavy is a blue whale?", "What is the weight of a blue whale?"),
        ("How warm should a bearded dragon tank be?", "What temperature should a bearded dragon tank be?"),
        ("How big do Maine Coon cats get?", "What size do Maine Coons grow to?"),
    ],
)
def test_one_dimension_in_other_words(a, b):
    never_for_reason(a, b, "measure")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I caulk a bathtub?", "How do I remove old caulk from a bathtub?"),
        ("How do I password-protect a Word document?", "How do I remove password protection from a Word document?"),
        ("How do I enable dark mode?", "How do I undo dark mode?"),
    ],
)
def test_removing_what_the_other_side_adds_is_another_request(a, b):
    fails_both_ways(a, b, "unmatched_name")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I remove a stain from a white shirt?", "What's the best way to get a stain out of a white shirt?"),
        ("How do I remove old caulk from a bathtub?", "What's the way to get old caulk off a bathtub?"),
    ],
)
def test_getting_something_out_is_removing_it(a, b):
    passes_both_ways(a, b)


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        ("How do I sign in to Netflix on my smart TV?", "How do I sign out of Netflix on my smart TV?", "antonym"),
        ("How do I sort a column A to Z in Google Sheets?", "How do I sort a column Z to A in Google Sheets?", "antonym"),
        ("How do I turn on dark mode?", "How do I turn off dark mode?", "antonym"),
    ],
)
def test_a_particle_that_turns_the_verb_around(a, b, reason):
    fails_both_ways(a, b, reason)


def test_the_same_particle_verb_in_other_words():
    passes_both_ways("I can't log in to my account, what should I do?", "I cannot log into my account. What should I do?")
    passes_both_ways("How do I turn on Do Not Disturb on an iPhone?", "How do I switch on Do Not Disturb on an iPhone?")


def test_thawing_what_the_other_side_freezes():
    fails_both_ways("How do I freeze a loaf of bread?", "How do I thaw a frozen loaf of bread?", "unmatched_name")
    passes_both_ways("How do I thaw chicken quickly?", "How do I defrost chicken quickly?")


def test_format_strings_and_set_reset():
    fails_both_ways("How do I format a date as YYYY-MM-DD in JavaScript?",
                    "How do I format a date as MM/DD/YYYY in JavaScript?", "quoted_text")
    passes_both_ways("How do I format a date as YYYY-MM-DD in JavaScript?",
                     "In JavaScript, how can I format a date as YYYY-MM-DD?")
    fails_both_ways("How do I set a column as the index of a pandas DataFrame?",
                    "How do I reset the index of a pandas DataFrame back to a column?", "antonym")
    passes_both_ways("How do I factory reset my iPhone?", "How do I restore my iPhone to factory settings?")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I protect the workbook structure in Excel?", "How do I unprotect the workbook structure in Excel?"),
        ("How do I connect my AirPods to a Mac?", "How do I disconnect my AirPods from a Mac?"),
    ],
)
def test_a_negating_prefix_turns_the_word(a, b):
    fails_both_ways(a, b, "antonym")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I ask my girlfriend to move in with me?", "How do I ask my girlfriend to move out?"),
        ("How do I check in for my flight online?", "How do I check out of my hotel online?"),
        ("How do I turn the volume up on my TV?", "How do I turn the volume down on my TV?"),
    ],
)
def test_the_same_verb_with_the_opposite_particle_is_another_question(a, b):
    fails_both_ways(a, b, "antonym")


def test_thanks_asked_about_is_content_but_thanks_as_politeness_is_not():
    fails_both_ways("How do you politely say thank you in Japanese?", "How do you politely say sorry in Japanese?",
                    "substitution")
    passes_both_ways("How do I say thanks in Japanese?", "How do you say thank you in Japanese?")
    passes_both_ways("Write a thank-you note to my teacher.", "Compose a note thanking my teacher.")
    passes_both_ways("Thanks! How do I reverse a list in Python?", "How do I reverse a list in Python? Thank you")
