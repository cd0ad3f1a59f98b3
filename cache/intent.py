"""What kind of answer a question wants, apart from what it is about.

"Who discovered penicillin?" and "When was penicillin discovered?" share every content
word; the question word alone says one wants a person, the other a date. A question's
first question word names the kind of answer (who: a person, when: a time, how: a way or
an amount). "what" and "which" name none of their own ("what year", "what is the
way to"), so they agree with every other word, with three exceptions inside a family:
"how often" wants a frequency where "how do I" wants a way; "why" wants a reason where
"which"/"what" want a thing (unless the what-question names a reason or cause); "what
is X" wants a definition where "who signed X" wants whoever did that. The operation a
request asks for is the second half ("find the PID of a process" and "kill a process by
its PID" name the same things), the dimension a question measures the third ("how much
does an elephant weigh" and "how tall is an elephant").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tokenyard.cache.analysis import Analysis, canonical
from tokenyard.cache.lexicon import MEASURE_CLASSES, OPERATION_CLASSES, QUESTION_WORDS

# A question word counts where it opens a sentence: "... an error when I run it. How do
# I fix it?" asks how, and "the man who discovered" is no question about a person.
_OPENING_QUESTION_WORD = re.compile(
    rf"(?:^\s*|[.?!:;]\s+)({'|'.join(QUESTION_WORDS)})\b\W*(\w*)\W*(\w*)", re.I
)
# "how", "how many" and "how long" stay one kind: "How many partitions should a topic
# have?" asks what "How do I choose the number of partitions?" asks.
_KINDS = {
    "who": "person", "whom": "person", "whose": "person", "when": "time", "where": "place",
    "why": "reason", "how": "manner or amount",
}
# "How often should I change my oil?" wants a frequency, "How do I change my oil?" a way;
# "How many times a year" wants the frequency too, so amounts agree with both.
_FREQUENCY = frozenset({"often", "frequently"})
_MANNER_OPENERS = frozenset(
    "do does did can could should would will shall is are was were to i you we they my".split()
)
# "What is the reason the sky is blue?", "What makes the sky blue?" and "What am I doing
# wrong?" ask why.
_REASON_WORDS = frozenset(
    canonical(w) for w in "reason cause purpose point why explanation make lead benefit advantage motivation wrong".split()
)
_COPULAS = frozenset("is are was were".split())


@dataclass(frozen=True, slots=True)
class _Asked:
    word: str  # the opening question word, lower-cased
    kind: str | None  # what _KINDS names for it
    detail: str  # "frequency", "manner", "amount", "reason", "thing", "definition", or a who-question's verb


def _asked(side: Analysis) -> _Asked | None:
    match = _OPENING_QUESTION_WORD.search(side.text)
    if not match:
        return None
    word, first, second = (g.lower() for g in match.groups())
    kind = _KINDS.get(word)
    if word == "how":
        detail = "frequency" if first in _FREQUENCY else "manner" if first in _MANNER_OPENERS else "amount"
    elif word in ("what", "which"):
        if word == "what" and _REASON_WORDS & set(side.tokens):
            detail = "reason"
        else:
            detail = "definition" if word == "what" and first in _COPULAS else "thing"
    elif word == "who" and first and first not in _COPULAS and first not in _MANNER_OPENERS:
        detail = first  # "Who signed": the answer is whoever did that
    else:
        detail = ""
    return _Asked(word, kind, detail)


def answer_kind(side: Analysis) -> str | None:
    """The kind of answer the first sentence-opening question word asks for; None if it names none."""
    asked = _asked(side)
    return asked.kind if asked else None


def question_word_conflict(q: Analysis, c: Analysis) -> str | None:
    """Both sides open with question words asking for different kinds of answer."""
    q_asked, c_asked = _asked(q), _asked(c)
    if not q_asked or not c_asked:
        return None
    if q_asked.kind and c_asked.kind and q_asked.kind != c_asked.kind:
        return f"{q_asked.kind} vs {c_asked.kind}"
    for one, one_side, other in ((q_asked, q, c_asked), (c_asked, c, q_asked)):
        if {one.detail, other.detail} == {"frequency", "manner"}:
            return "how often vs how"
        if one.word == "why" and other.detail in ("thing", "definition"):
            return f"why vs {other.word}"
        # "What is the Treaty of Versailles?" vs "Who signed it?"; "What is the inventor
        # of X" names the verb "Who invented X" asks about, so it asks the same.
        if one.detail == "definition" and other.word == "who" and other.detail and canonical(other.detail) not in one_side.tokens:
            return f"what is vs who {other.detail}"
    return None


def _classes(table: tuple[tuple[str, ...], ...]) -> dict[str, str]:
    return {canonical(word): group[0] for group in table for word in group}


_OPERATIONS = _classes(OPERATION_CLASSES)
_MEASURES = _classes(MEASURE_CLASSES)


def _class_conflict(q: Analysis, c: Analysis, classes: dict[str, str]) -> str | None:
    """Each side names a class the other does not; one side naming none may still ask the same."""
    q_named = {classes[t] for t in q.tokens if t in classes}
    c_named = {classes[t] for t in c.tokens if t in classes}
    if q_named - c_named and c_named - q_named:
        return f"{sorted(q_named - c_named)} vs {sorted(c_named - q_named)}"
    return None


def operation_conflict(q: Analysis, c: Analysis) -> str | None:
    """Each side asks for an operation the other does not: "find the PID" vs "kill the process"."""
    return _class_conflict(q, c, _OPERATIONS)


def measure_conflict(q: Analysis, c: Analysis) -> str | None:
    """Each side measures a dimension the other does not: "how much does it weigh" vs "how tall is it"."""
    return _class_conflict(q, c, _MEASURES)
