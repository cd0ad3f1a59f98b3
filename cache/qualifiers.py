"""Words one side adds to a noun both sides share: "vegan pancakes" is not "pancakes".

The verifier tolerates a few words only one side has ("Which city is France's capital?"
has "city"), but not words that narrow what is asked: a modifier placed before a shared
noun, a specific noun where the other side has a placeholder, or a phrase at the end
opened by a restricting preposition ("... for a sore throat in toddlers").
"""

from __future__ import annotations

from tokenyard.cache.analysis import Analysis, canonical
from tokenyard.cache.lexicon import (
    DETERMINERS,
    EVALUATIVE_MODIFIERS,
    PLACEHOLDER_NOUNS,
    REQUEST_VERBS,
    RESTRICTING_PREPOSITIONS,
)

_PLACEHOLDERS_C = frozenset(canonical(w) for w in PLACEHOLDER_NOUNS)
# At the end of a question "one" and "people" are mostly no placeholders ("into a single
# one", "the most people"): only these stand for whoever or whatever there.
_TRAILING_PLACEHOLDERS = frozenset(canonical(w) for w in ("person", "someone", "somebody", "thing", "things"))
_RESTRICTING_C = frozenset(canonical(w) for w in RESTRICTING_PREPOSITIONS)
# Words that open a noun phrase: "for a customer" and "for each customer" both restrict.
_DETERMINERS = frozenset(canonical(w) for w in DETERMINERS)
_EVALUATIVE_C = frozenset(canonical(w) for w in EVALUATIVE_MODIFIERS)
_NOUN_PHRASE_OPENERS = _DETERMINERS | _RESTRICTING_C | frozenset(
    canonical(w) for w in (*REQUEST_VERBS, "of", "about", "many", "much", "few", "several")  # "how many white keys"
)

_CONJUNCTIONS = frozenset(("and", "or"))

Run = tuple[str, tuple[str, ...], str]


def runs(words: tuple[str, ...], only: frozenset[str]) -> list[Run]:
    """Maximal runs of words from ``only``, each with its neighbours (^ and $ at the ends)."""
    found = []
    i = 0
    while i < len(words):
        if words[i] not in only:
            i += 1
            continue
        j = i
        while j < len(words) and words[j] in only:
            j += 1
        found.append((words[i - 1] if i else "^", words[i:j], words[j] if j < len(words) else "$"))
        i = j
    return found


def one_sided_qualifier(side: Analysis, only: frozenset[str], other: Analysis, shared: frozenset[str]) -> str | None:
    """Words of ``side`` (from ``only``) that narrow what ``other`` asks, joined; None if none do."""
    other_slots = _slot_pairs(other.content, shared)
    for before, run, after in runs(side.content, only):
        if after == "$" and before != "^" and (before, "$") in other_slots:
            # "the richest woman" at the end, where the other side ends on "the richest person"
            if _between(other.tokens, before, None) & _TRAILING_PLACEHOLDERS:
                return " ".join(run)
        if after == "$" or (before, after) not in other_slots:
            continue
        if len(run) == 1 and after in side.names and _after_article(side.tokens, run[0]):
            continue  # "the novel Pride and Prejudice": a common noun naming what the name is
        if before == "^":
            # At the start only a modifier inside a noun phrase counts ("suggest vegetarian
            # dinners", "for compound interest"), unless it only grades ("good books").
            narrows = (
                _adjacent(side.tokens, run[-1], after)
                and _opens_noun_phrase(side.tokens, run[0])
                and not set(run) <= _EVALUATIVE_C
            )
        else:
            # Words added where the other side has nothing: a qualifier ("vegan pancakes",
            # "a screenshot of a single window on a Mac"), or a specific noun where the
            # other side has a placeholder ("the richest woman" vs "the richest person").
            narrows = (
                _adjacent(side.tokens, run[-1], after)
                or len(run) >= 2
                or bool(_between(other.tokens, before, after) & _PLACEHOLDERS_C)
            )
        if narrows:
            return " ".join(run)
    for _, run, _ in runs(side.content, only):
        if _conjoined_to_shared(side.tokens, run, shared):
            # "in a directory and its subdirectories": a conjunct widens what is asked.
            return " ".join(run)
    trailing = [run for before, run, after in runs(side.content, only) if after == "$" and before != "^"]
    if trailing and (trailing[-1][0] in _RESTRICTING_C or _preceded_by(side.tokens, trailing[-1][0], _RESTRICTING_C)):
        # "... for a sore throat in toddlers": a phrase narrowing what the other side asks.
        return " ".join(trailing[-1])
    return None


def _conjoined_to_shared(tokens: tuple[str, ...], run: tuple[str, ...], shared: frozenset[str]) -> bool:
    """Whether ``run`` is one conjunct of "X and Y" / "X or Y" whose other conjunct is shared."""
    words = [t for t in tokens if t not in _DETERMINERS]
    start = words.index(run[0])
    end = start + len(run)
    if start >= 2 and words[start - 1] in _CONJUNCTIONS and words[start - 2] in shared:
        return True
    return end + 1 < len(words) and words[end] in _CONJUNCTIONS and words[end + 1] in shared


def _slot_pairs(words: tuple[str, ...], shared: frozenset[str]) -> set[tuple[str, str]]:
    """Neighbouring pairs of shared words, with ^ and $ as ends: the slots a word could fill."""
    kept = ["^", *(w for w in words if w in shared), "$"]
    return set(zip(kept, kept[1:], strict=False))


def _after_article(tokens: tuple[str, ...], word: str) -> bool:
    i = tokens.index(word)
    return i > 0 and tokens[i - 1] == "the"


def _between(tokens: tuple[str, ...], before: str, after: str | None) -> set[str]:
    """Tokens between ``before`` and ``after`` (None: the end)."""
    if before not in tokens:
        return set()
    start = tokens.index(before)
    if after is None:
        return set(tokens[start + 1 :])
    end = next((j for j in range(start + 1, len(tokens)) if tokens[j] == after), start)
    return set(tokens[start + 1 : end])


def _preceded_by(tokens: tuple[str, ...], word: str, preceding: frozenset[str]) -> bool:
    """Whether the last function word before ``word`` is one of ``preceding``."""
    i = len(tokens) - 1 - tokens[::-1].index(word)
    before = next((t for t in reversed(tokens[:i]) if t not in _DETERMINERS), None)
    return before in preceding


def _opens_noun_phrase(tokens: tuple[str, ...], word: str) -> bool:
    """Whether ``word`` follows a determiner, a preposition or a request verb: it then
    modifies the noun after it ("for compound interest", "suggest vegetarian dinners"),
    where after a subject ("how do I properly boil") it would be an adverb."""
    i = tokens.index(word)
    return i > 0 and tokens[i - 1] in _NOUN_PHRASE_OPENERS


def _adjacent(tokens: tuple[str, ...], first: str, second: str) -> bool:
    return any(a == first and b == second for a, b in zip(tokens, tokens[1:], strict=False))
