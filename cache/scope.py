"""How much of something a question asks about, and with which switches.

Four kinds of word change an answer while the content words stay the same, so the
verifier's word comparison cannot see them:

* command-line flags (see :mod:`tokenyard.cache.flags`): ``ls -a`` and ``ls -l``;
* quantifiers: "delete one duplicate row" and "delete all duplicate rows" ask for
  different queries, "stop a container" and "stop all containers" for different commands;
* comparison partners: "a simile and a metaphor" and "a metaphor and an analogy" share
  a word and a frame, but compare different pairs;
* the person a situation is about: "what should I do if I snore" asks for remedies,
  "what should I do if he snores" for ways to cope with someone else's snoring.

Each function returns a short detail when the two sides differ, None when they agree.
"""

from __future__ import annotations

from tokenyard.cache.analysis import Analysis, canonical

_UNIVERSAL = frozenset(canonical(w) for w in ("all", "every", "each", "entire", "whole"))
_DUAL = frozenset(canonical(w) for w in ("both",))
_SINGULAR = frozenset(canonical(w) for w in ("one", "single"))
_ARTICLES = frozenset(("a", "an"))
_QUANTIFIER_CLASSES = (("all", _UNIVERSAL), ("both", _DUAL), ("one", _SINGULAR))
# Words a quantifier reaches over to the noun it counts ("all the", "one example of a").
_BINDING_GAP = 3

# Words that join or oppose the things a question compares.
_COMPARING = frozenset(canonical(w) for w in ("and", "or", "vs", "versus", "than", "between"))
_COMPARISON_FRAME = frozenset(
    canonical(w) for w in ("between", "vs", "versus", "than", "compare", "comparison", "difference")
)


def flag_difference(q: Analysis, c: Analysis) -> str | None:
    """A flag one side has and the other lacks: the same command, another behaviour."""
    if q.flags != c.flags:
        return f"{sorted(q.flags)} vs {sorted(c.flags)}"
    return None


def _classes(side: Analysis) -> set[str]:
    return {name for name, words in _QUANTIFIER_CLASSES for t in side.tokens if t in words}


def _bound(side: Analysis, words: frozenset[str]) -> set[str]:
    """Content words a quantifier from ``words`` counts: the first one within a short gap after it."""
    content = set(side.content)
    bound = set()
    for i, token in enumerate(side.tokens):
        if token in words:
            target = next((t for t in side.tokens[i + 1 : i + 1 + _BINDING_GAP] if t in content), None)
            if target is not None:
                bound.add(target)
    return bound


def quantifier_conflict(q: Analysis, c: Analysis) -> str | None:
    """One side counts all of something, the other one (or both) of it.

    Differing quantifiers on both sides ("one example" vs "all the mammals", "all
    whitespace" vs "both ends") conflict. So does a universal on one side against an
    article on the other bound to the same noun ("stop a container" vs "stop all
    containers"). A quantifier on one side only with nothing opposing it passes: "list
    all the planets" asks what "list the planets" asks.
    """
    q_classes, c_classes = _classes(q), _classes(c)
    if q_classes and c_classes and not q_classes & c_classes:
        return f"{sorted(q_classes)} vs {sorted(c_classes)}"
    singular = _SINGULAR | _ARTICLES
    for one, other in ((q, c), (c, q)):
        clash = _bound(one, _UNIVERSAL) & _bound(other, singular) - _bound(other, _UNIVERSAL)
        if clash:
            return f"all vs one {sorted(clash)[0]}"
    return None


def _compared(side: Analysis) -> set[str]:
    """Content words next to a comparing word ("X and Y", "between X", "than Y"), articles skipped."""
    content = set(side.content)
    tokens = [t for t in side.tokens if t not in _ARTICLES and t != "the"]
    items = set()
    for i, token in enumerate(tokens):
        if token not in _COMPARING:
            continue
        # "the difference between X": only what follows "between" is compared.
        for j in (i + 1,) if token == "between" else (i - 1, i + 1):
            if 0 <= j < len(tokens) and tokens[j] in content and tokens[j] not in _COMPARISON_FRAME:
                items.add(tokens[j])
    return items


def comparison_partner(q: Analysis, c: Analysis) -> str | None:
    """Both sides compare, and one compares a thing the other replaced with its own word.

    "Is tea healthier than coffee?" / "Is coffee healthier than soda?": soda is compared
    on one side only while tea is on the other side only. A partner named on both sides
    in another order or frame ("how is X different from Y") passes.
    """
    if not (_COMPARISON_FRAME & set(q.tokens) and _COMPARISON_FRAME & set(c.tokens)):
        return None
    q_only, c_only = set(q.content) - set(c.content), set(c.content) - set(q.content)
    for one_new, other_only in ((_compared(q) & q_only, c_only), (_compared(c) & c_only, q_only)):
        if one_new and other_only:
            return f"{sorted(one_new)} vs {sorted(other_only)}"
    return None


# Personal pronouns, not possessives: "my phone" and "her phone" ask the same, and
# "her" may be either, so it is left out.
_FIRST_PERSON = frozenset(("i", "me", "myself", "we", "ourselves"))
_THIRD_PERSON = frozenset(("he", "him", "himself", "she", "herself"))


def _count(side: Analysis, words: frozenset[str]) -> int:
    return sum(1 for t in side.tokens if t in words)


def person_change(q: Analysis, c: Analysis) -> str | None:
    """A pronoun about the asker on one side is about a third person on the other.

    "What should I do if I snore?" / "... if he snores?": one side has a first-person
    pronoun more and a third-person pronoun fewer. "my" and "your" are left alone ("my
    printer" asks what "your printer" asks).
    """
    more_first = _count(q, _FIRST_PERSON) - _count(c, _FIRST_PERSON)
    more_third = _count(q, _THIRD_PERSON) - _count(c, _THIRD_PERSON)
    if more_first * more_third < 0:
        return "first person vs third person"
    return None
