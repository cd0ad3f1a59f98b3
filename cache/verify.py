"""Does a stored question really ask what the new one asks?

Embeddings put "capital of France" next to "capital of Spain" and "10 USD to EUR" next
to "10 EUR to USD", so every nearest neighbour passes through here before it may be
served. The checks are conservative: a candidate passes only if nothing typed differs
(quoted text, numbers and their units, negations, antonyms, direction) and the content
words line up. A word swapped for another is a different question; words only one
side has are tolerated only when they are few, untyped and not qualifying a shared
word ("vegan pancakes" is not "pancakes"). Paraphrases that fail cost a provider
call; a wrong answer costs much more, so the rules err on that side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tokenyard.cache.analysis import (
    CURRENCIES_C,
    DIRECTION_C,
    FILLER_C,
    LANGUAGES_C,
    NEGATIONS_C,
    UNITS_C,
    Analysis,
    analyse,
    canonical,
)
from tokenyard.cache.lexicon import (
    ANTONYMS,
    SYMMETRIC_CONNECTORS,
    TASK_VERBS,
)
from tokenyard.cache.code import code_difference
from tokenyard.cache.intent import measure_conflict, operation_conflict, question_word_conflict
from tokenyard.cache.operators import operator_difference
from tokenyard.cache.qualifiers import one_sided_qualifier, runs
from tokenyard.cache.reconcile import reconcile
from tokenyard.cache.roles import question_word_role_swap, role_swap
from tokenyard.cache.tense import tense_conflict
from tokenyard.cache.scope import comparison_partner, flag_difference, person_change, quantifier_conflict

#: Words only one side has, at most, for a pass.
MAX_EXTRA_WORDS = 3

_ANTONYM_PAIRS = tuple({(canonical(a), canonical(b)) for a, b in ANTONYMS if canonical(a) != canonical(b)})
_TASK_VERBS_C = frozenset(canonical(w) for w in TASK_VERBS)
_SYMMETRIC_C = frozenset(canonical(w) for w in SYMMETRIC_CONNECTORS)
_FUNCTION_WORDS = FILLER_C | NEGATIONS_C
_NEGATING_PREFIXES = ("un", "dis")
_OPPOSITE_PARTICLES = {"in": "out", "out": "in", "on": "off", "off": "on", "up": "down", "down": "up"}


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason: str  # "match" or the first check that failed
    detail: str = ""
    #: On a pass where only one side has words of its own: those words (canonical) and
    #: whose they are ("query" or "candidate"), for the shard to weigh (cache/weighing.py).
    added: tuple[str, ...] = ()
    added_by: str = ""


PASS = Verdict(True, "match")


def verify(query: str | Analysis, candidate: str | Analysis, *, max_extra_words: int = MAX_EXTRA_WORDS) -> Verdict:
    q = query if isinstance(query, Analysis) else analyse(query)
    c = candidate if isinstance(candidate, Analysis) else analyse(candidate)
    q, c = reconcile(q, c)
    for check in _CHECKS:
        verdict = check(q, c)
        if not verdict.ok:
            return verdict
    return _content(q, c, max_extra_words)


def _quotes(q: Analysis, c: Analysis) -> Verdict:
    if q.quotes != c.quotes:
        return Verdict(False, "quoted_text")
    return PASS


def _numbers(q: Analysis, c: Analysis) -> Verdict:
    if q.numbers != c.numbers:
        return Verdict(False, "numbers", f"{list(q.numbers)} vs {list(c.numbers)}")
    if q.number_units and c.number_units and q.number_units != c.number_units:
        return Verdict(False, "units", f"{sorted(q.number_units)} vs {sorted(c.number_units)}")
    return PASS


def _detected(reason: str, detect: Callable[[Analysis, Analysis], str | None]) -> Callable[[Analysis, Analysis], Verdict]:
    """A check from a detector that names the difference it found (None: none)."""

    def check(q: Analysis, c: Analysis) -> Verdict:
        detail = detect(q, c)
        return Verdict(False, reason, detail) if detail else PASS

    return check


_code = _detected("code", code_difference)
_operators = _detected("operator", lambda q, c: operator_difference(q.text, c.text))
_question_word = _detected("question_word", question_word_conflict)
_operation = _detected("operation", operation_conflict)
_measure = _detected("measure", measure_conflict)
_flags = _detected("flag", flag_difference)
_quantifiers = _detected("quantifier", quantifier_conflict)
_partners = _detected("comparison_partner", comparison_partner)
_person = _detected("person", person_change)
_roles = _detected("order", role_swap)
_question_roles = _detected("order", question_word_role_swap)
_tense = _detected("tense", tense_conflict)


def _negation(q: Analysis, c: Analysis) -> Verdict:
    if q.negations != c.negations:
        return Verdict(False, "negation", f"{q.negations} vs {c.negations}")
    for q_scope, c_scope in zip(q.negation_scopes, c.negation_scopes, strict=True):
        if q_scope[0] not in c_scope and c_scope[0] not in q_scope:
            return Verdict(False, "negation", f"not {list(q_scope)} vs not {list(c_scope)}")
    return PASS


def _antonyms(q: Analysis, c: Analysis) -> Verdict:
    qs, cs = set(q.tokens), set(c.tokens)
    for a, b in _ANTONYM_PAIRS:
        for x, y in ((a, b), (b, a)):
            if x in qs and y in cs and y not in qs and x not in cs:
                return Verdict(False, "antonym", f"{x} vs {y}")
    # "move in" / "move out", "turn the volume up" / "down" said as "turn up" / "turn down".
    q_particles, c_particles = _particle_verbs(q.tokens), _particle_verbs(c.tokens)
    for verb, particle in q_particles:
        turned = (verb, _OPPOSITE_PARTICLES[particle])
        if turned in c_particles and (verb, particle) not in c_particles and turned not in q_particles:
            return Verdict(False, "antonym", f"{verb} {particle} vs {verb} {turned[1]}")
    # "protect" / "unprotect", "connect" / "disconnect": a negating prefix turns the word.
    for x, y in ((qs - cs, cs - qs), (cs - qs, qs - cs)):
        for word in x:
            for prefix in _NEGATING_PREFIXES:
                if word.startswith(prefix) and len(word) - len(prefix) >= 4 and word[len(prefix):] in y:
                    return Verdict(False, "antonym", f"{word} vs {word[len(prefix):]}")
    return PASS


def _particle_verbs(tokens: tuple[str, ...]) -> set[tuple[str, str]]:
    """(verb, particle) for a content word followed by in/out, on/off or up/down."""
    return {
        (word, after) for word, after in zip(tokens, tokens[1:])
        if after in _OPPOSITE_PARTICLES and word not in _FUNCTION_WORDS
    }


def _direction(q: Analysis, c: Analysis) -> Verdict:
    for source, target in q.directions:
        if (target, source) in c.directions and (source, target) not in c.directions:
            return Verdict(False, "direction", f"{source}->{target} vs {target}->{source}")
    # "in wide format ... into long format" vs "in long format ... into wide format":
    # the same two ends, each reached from the other's start.
    for source, target in q.directions - c.directions:
        for other_source, other_target in q.directions - c.directions:
            if source == other_source or target == other_target:
                continue
            if (source, other_target) in c.directions and (other_source, target) in c.directions:
                return Verdict(False, "direction", f"{source}->{target}, {other_source}->{other_target} swapped")
    return PASS


def _order(q: Analysis, c: Analysis) -> Verdict:
    """Same frame, arguments swapped: "Did Google acquire YouTube?" vs "Did YouTube acquire Google?".

    Two words that each side has once appear in opposite orders, and the words between
    them (content and direction words) are the same non-empty frame on both sides. An
    empty or symmetric frame ("London and Tokyo") and a moved phrase ("In Python, how do
    I ..." / "How do I ... in Python?") change the frame, so they pass.
    """
    once = [w for w in q.content if q.content.count(w) == 1 and c.content.count(w) == 1]
    names = q.names | c.names
    for i, x in enumerate(once):
        for y in once[i + 1 :]:
            q_frame = _frame(q.tokens, x, y, names)
            c_frame = _frame(c.tokens, y, x, names)
            if q_frame and q_frame == c_frame:
                return Verdict(False, "order", f"{x} .. {y} vs {y} .. {x}")
    return PASS


def _frame(tokens: tuple[str, ...], first: str, second: str, names: frozenset[str]) -> tuple[str, ...] | None:
    """Content and direction words between ``first`` and a later ``second``; None if not in that order.

    Words of names are not part of a frame: "Whole Foods" is one argument, not "Whole" and a frame "Foods".
    """
    if first not in tokens or second not in tokens:
        return None
    start, end = tokens.index(first), tokens.index(second)
    if start > end:
        return None
    return tuple(
        t for t in tokens[start + 1 : end]
        if t not in _SYMMETRIC_C and t not in names and (t in DIRECTION_C or t not in _FUNCTION_WORDS)
    )


def _typed(word: str, side: Analysis) -> bool:
    """Words that name what the answer is about: never dropped or added silently."""
    return (
        word in side.names
        or word in LANGUAGES_C
        or word in UNITS_C
        or word in CURRENCIES_C
        or word in side.quotes
        or word in _TASK_VERBS_C
    )


_CHECKS = (
    _code, _quotes, _numbers, _flags, _negation, _antonyms, _operators, _question_word, _operation, _measure,
    _direction, _order, _roles, _question_roles, _quantifiers, _partners, _person, _tense,
)


def _content(q: Analysis, c: Analysis, max_extra_words: int) -> Verdict:
    q_only = q.content_set - c.content_set
    c_only = c.content_set - q.content_set
    identifiers = sorted(w for w in q_only | c_only if any(ch.isdigit() for ch in w))
    if identifiers:
        # "n9" / "n89", "A1234" / "A1243": codes, not words; a typed refusal the judge never reopens.
        return Verdict(False, "identifier", ", ".join(identifiers))
    shared = q.content_set & c.content_set
    q_counts, c_counts = Counter(q.content), Counter(c.content)
    q_more = {w for w in shared if q_counts[w] > c_counts[w]}
    c_more = {w for w in shared if c_counts[w] > q_counts[w]}
    if (q_more and c_only) or (c_more and q_only):
        # "rice in a rice cooker" vs "quinoa in a rice cooker": a repeated word was replaced.
        return Verdict(False, "substitution", f"{sorted(q_only | q_more)} vs {sorted(c_only | c_more)}")
    for side, only in ((q, q_only), (c, c_only)):
        typed = sorted(w for w in only if _typed(w, side))
        if typed:
            return Verdict(False, "unmatched_name", ", ".join(typed))
    q_slots = {(before, after) for before, _, after in runs(q.content, q_only)}
    c_slots = {(before, after) for before, _, after in runs(c.content, c_only)}
    swapped = q_slots & c_slots
    if swapped:
        # The same words surround different words: one slot of the question changed.
        return Verdict(False, "substitution", f"{sorted(q_only)} vs {sorted(c_only)}")
    for side, only, other in ((q, q_only, c), (c, c_only, q)):
        qualifier = one_sided_qualifier(side, only, other, shared)
        if qualifier:
            return Verdict(False, "qualifier", qualifier)
    if len(q_only) + len(c_only) > max_extra_words:
        return Verdict(False, "extra_words", f"{sorted(q_only)} vs {sorted(c_only)}")
    if q_only and not c_only:
        return Verdict(True, "match", added=tuple(sorted(q_only)), added_by="query")
    if c_only and not q_only:
        return Verdict(True, "match", added=tuple(sorted(c_only)), added_by="candidate")
    return PASS
