"""What kind of answer a question wants, apart from what it is about.

"Who discovered penicillin?" and "When was penicillin discovered?" share every content
word; the question word alone says one wants a person, the other a date. A question's
first question word names the kind of answer (who: a person, when: a time, how: a way or
an amount). "what" and "which" name none of their own ("what year", "what is the
way to"), so they agree with every other word. The operation a request asks for is the
other half: "find the PID of a process" and "kill a process by its PID" name the same things.
"""

from __future__ import annotations

import re

from tokenyard.cache.analysis import Analysis, canonical
from tokenyard.cache.lexicon import OPERATION_CLASSES

# A question word counts where it opens a sentence: "... an error when I run it. How do
# I fix it?" asks how, and "the man who discovered" is no question about a person.
_OPENING_QUESTION_WORD = re.compile(r"(?:^\s*|[.?!:;]\s+)(who|whom|whose|when|where|why|how|what|which)\b", re.I)
# "how", "how many" and "how long" stay one kind: "How many partitions should a topic
# have?" asks what "How do I choose the number of partitions?" asks.
_KINDS = {
    "who": "person", "whom": "person", "whose": "person", "when": "time", "where": "place",
    "why": "reason", "how": "manner or amount",
}


def answer_kind(side: Analysis) -> str | None:
    """The kind of answer the first sentence-opening question word asks for; None if it names none."""
    match = _OPENING_QUESTION_WORD.search(side.text)
    return _KINDS.get(match.group(1).lower()) if match else None


def question_word_conflict(q: Analysis, c: Analysis) -> str | None:
    """Both sides open with a question word naming a kind of answer, and the kinds differ."""
    q_kind, c_kind = answer_kind(q), answer_kind(c)
    if q_kind and c_kind and q_kind != c_kind:
        return f"{q_kind} vs {c_kind}"
    return None


_OPERATIONS = {canonical(verb): group[0] for group in OPERATION_CLASSES for verb in group}


def _operations(side: Analysis) -> set[str]:
    return {_OPERATIONS[t] for t in side.tokens if t in _OPERATIONS}


def operation_conflict(q: Analysis, c: Analysis) -> str | None:
    """Each side asks for an operation the other does not: "find the PID" vs "kill the process"."""
    q_ops, c_ops = _operations(q), _operations(c)
    if q_ops - c_ops and c_ops - q_ops:
        return f"{sorted(q_ops - c_ops)} vs {sorted(c_ops - q_ops)}"
    return None
