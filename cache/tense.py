"""The time a question asks about, read from the auxiliary of its main clause.

"How will AI change the job market?" and "How has AI changed the job market?" share
every content word once stemmed; only the auxiliary says one asks about the future and
the other about what already happened. The auxiliary counts only where it carries the
question: the first one after the opening question word (or opening a yes/no question),
before any subordinate clause, so "What did Nokia make when it was founded?" is read
from "did", and "was" in the when-clause says nothing. Copulas and modals ("is", "can",
"should") are left out: "Who is"/"Who was" and "How can I"/"How do I" are asked alike.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tokenyard.cache.lexicon import QUESTION_WORDS

if TYPE_CHECKING:
    from tokenyard.cache.analysis import Analysis

_TENSES = {
    "will": "future", "shall": "future", "won't": "future",
    "did": "past", "didn't": "past", "has": "past", "have": "past", "had": "past", "hasn't": "past", "haven't": "past",
    "do": "present", "does": "present", "don't": "present", "doesn't": "present",
}
# Words that open a subordinate clause: an auxiliary after them is not the question's.
_SUBORDINATORS = frozenset(
    "when if because that who whom whose what which where why how after before while since until unless whether".split()
)
# A modal or copula carries the question itself ("How many partitions should a topic have?"),
# so a later "have" is a main verb, not a tense.
_OTHER_AUXILIARIES = frozenset("is are am was were can could should would may might must".split())
_ARTICLES = frozenset({"a", "an", "the"})
_SENTENCE = re.compile(r"[^.?!;:]+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def question_tense(text: str) -> str | None:
    """The tense of the first sentence that opens with a question word or an auxiliary; None if none."""
    for sentence in _SENTENCE.findall(text.lower().replace("’", "'")):
        words = _WORD.findall(sentence)
        if not words:
            continue
        if words[0] in _TENSES:
            return _TENSES[words[0]]
        if words[0] not in QUESTION_WORDS:
            continue
        for i, word in enumerate(words[1:], start=1):
            # "a will" is a document; an auxiliary closing the sentence is a main verb ("a file has").
            if word in _TENSES and words[i - 1] not in _ARTICLES and i + 1 < len(words):
                return _TENSES[word]
            if word in _SUBORDINATORS or word in _OTHER_AUXILIARIES:
                break
        return None
    return None


def tense_conflict(q: Analysis, c: Analysis) -> str | None:
    """Both questions carry a tense on their main auxiliary, and the tenses differ."""
    q_tense, c_tense = question_tense(q.text), question_tense(c.text)
    if q_tense and c_tense and q_tense != c_tense:
        return f"{q_tense} vs {c_tense}"
    return None
