"""Two phrases that trade places around the same relation: "a parent to a teacher" vs "a teacher to a parent".

The word-level order check in verify compares single words; arguments are often phrases
("type O blood", "food and art", "its parent class") whose inner words make the frames
differ. Here each side is cut into arguments, runs of content words (joined across
"and"/"or", so "food and art" and "a fruit or a vegetable" are one argument each), and two arguments that each side has
once must not appear in opposite orders around the same relation. The relation is what
lies between them: the heads of the arguments in between, direction words and "than".
An argument is the same on both sides when its words are, or failing that its head (last
word: "their child's teacher" and "a teacher" are both the teacher). A question opening
with "is"/"are" ("Is a square a rectangle?") relates its first two arguments by the verb
itself, so there the relation may be empty.

A question word is an argument too: "Who does Macbeth kill?" asks for the one killed,
"Who kills Macbeth?" for the killer. After the question word (and the noun of "which
team"), "do/does/did" makes it the object; a verb right after it makes it the subject.
"""

from __future__ import annotations

from collections import Counter

from tokenyard.cache.analysis import DIRECTION_C, Analysis

_JOINERS = frozenset({"and", "or", "vs", "versus"})
# Words that relate two arguments one way round ("latex paint over oil-based paint").
_RELATION_WORDS = DIRECTION_C | {"than", "over", "under", "above", "below", "against", "onto"}
_COPULAS = frozenset({"is", "are", "was", "were"})
_ARTICLES = frozenset({"a", "an", "the"})

_DO_SUPPORT = frozenset({"do", "did"})  # canonical forms: "does" is "do"
_WH_ARGUMENTS = frozenset({"who", "whom", "what", "which"})
_WH_WITH_NOUN = frozenset({"what", "which"})  # "which team", "what animals"

_Argument = tuple[int, int, tuple[str, ...]]  # first token, one past the last token, content words


def _arguments(side: Analysis) -> list[_Argument]:
    content = side.content_set
    tokens = side.tokens
    found: list[_Argument] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in content:
            i += 1
            continue
        start, words = i, []
        while i < len(tokens):
            if tokens[i] in content:
                words.append(tokens[i])
                i += 1
            elif tokens[i] in _JOINERS and words and _next_content(tokens, i + 1, content) is not None:
                i = _next_content(tokens, i + 1, content)
            else:
                break
        found.append((start, i, tuple(words)))
    return found


def _next_content(tokens: tuple[str, ...], i: int, content: frozenset[str]) -> int | None:
    """Where the content word after ``i`` (past articles: "a fruit or a vegetable") starts; None if none does."""
    while i < len(tokens) and tokens[i] in _ARTICLES:
        i += 1
    return i if i < len(tokens) and tokens[i] in content else None


def _relation(side: Analysis, arguments: list[_Argument], first: int, second: int) -> tuple[str, ...]:
    """Heads of the arguments and the relation words between argument ``first`` and argument ``second``."""
    words: list[str] = []
    for k in range(first + 1, second):
        words.extend(t for t in side.tokens[arguments[k - 1][1] : arguments[k][0]] if t in _RELATION_WORDS)
        words.append(arguments[k][2][-1])
    words.extend(t for t in side.tokens[arguments[second - 1][1] : arguments[second][0]] if t in _RELATION_WORDS)
    return tuple(words)


def _copula_pair(side: Analysis, arguments: list[_Argument], first: int, second: int) -> bool:
    """"Is a square a rectangle?": the question opens with is/are and relates its first two arguments."""
    tokens = side.tokens
    return (
        first == 0 and second == 1 and bool(tokens) and tokens[0] in _COPULAS
        and all(t in _ARTICLES for t in tokens[1 : arguments[0][0]])
        and all(t in _ARTICLES for t in tokens[arguments[0][1] : arguments[1][0]])
    )


def role_swap(q: Analysis, c: Analysis) -> str | None:
    """Two arguments both sides have once stand in opposite orders around the same relation."""
    q_args, c_args = _arguments(q), _arguments(c)
    for q_ids, c_ids in _identities(q_args, c_args):
        q_count, c_count = Counter(q_ids), Counter(c_ids)
        once = [x for x in q_ids if q_count[x] == 1 and c_count[x] == 1]
        for i, x in enumerate(once):
            for y in once[i + 1 :]:
                qx, qy, cx, cy = q_ids.index(x), q_ids.index(y), c_ids.index(x), c_ids.index(y)
                if not cy < cx:
                    continue
                q_relation = _relation(q, q_args, qx, qy)
                if q_relation != _relation(c, c_args, cy, cx):
                    continue
                if q_relation or (_copula_pair(q, q_args, qx, qy) and _copula_pair(c, c_args, cy, cx)):
                    return f"{_show(x)} .. {_show(y)} vs {_show(y)} .. {_show(x)}"
    return None


def _identities(q_args: list[_Argument], c_args: list[_Argument]):
    """Ways to tell an argument by: its words, its head, or the words no other argument of its side has.

    The last one meets "paint latex paint" with "latex paint" when a verb ran into the
    first argument ("How do I paint latex paint over oil-based paint?").
    """
    yield [a[2] for a in q_args], [a[2] for a in c_args]
    yield [a[2][-1] for a in q_args], [a[2][-1] for a in c_args]
    yield _own_words(q_args), _own_words(c_args)


def _own_words(args: list[_Argument]) -> list[tuple[str, ...]]:
    counts = Counter(w for a in args for w in set(a[2]))
    return [tuple(w for w in a[2] if counts[w] == 1) or a[2] for a in args]


def _show(argument: tuple[str, ...] | str) -> str:
    return argument if isinstance(argument, str) else " ".join(argument)


def _clause_starts(side: Analysis) -> tuple[int, ...]:
    """Where the clause after an opening who/what/which may start: right after it, or after its noun.

    "Which team did Brazil beat?": the noun belongs to the question word; "What eats a
    cat?": the next word is the verb. Without parts of speech both readings are tried.
    """
    tokens, content = side.tokens, side.content_set
    if len(tokens) < 3 or tokens[0] not in _WH_ARGUMENTS:
        return ()
    return (1, 2) if tokens[0] in _WH_WITH_NOUN and tokens[1] in content else (1,)


def question_word_role_swap(q: Analysis, c: Analysis) -> str | None:
    """The question word asks for the verb's subject on one side, its object on the other.

    The subject side reads "who kills Macbeth" (a verb right after the question word, its
    object later); the object side "who does Macbeth kill" (do-support, then that same
    object, then the verb).
    """
    if not (_only_question_noun(q, c) and _only_question_noun(c, q)):
        return None
    for subject_side, object_side in ((q, c), (c, q)):
        for s_at in _clause_starts(subject_side):
            for o_at in _clause_starts(object_side):
                swap = _swapped_around(subject_side, s_at, object_side, o_at)
                if swap:
                    return swap
    return None


def _only_question_noun(side: Analysis, other: Analysis) -> bool:
    """Whether ``side`` has no content word ``other`` lacks but its question word's own noun ("What animals eat snakes?")."""
    extra = Counter(side.content) - Counter(other.content)
    if not extra:
        return True
    question_noun = side.tokens[1] if len(side.tokens) > 1 and side.tokens[0] in _WH_WITH_NOUN else None
    return set(extra) == {question_noun} and extra[question_noun] == 1


def _swapped_around(subject_side: Analysis, s_at: int, object_side: Analysis, o_at: int) -> str | None:
    if object_side.tokens[o_at] not in _DO_SUPPORT:
        return None
    verb = subject_side.tokens[s_at]
    if verb not in subject_side.content_set or verb not in object_side.tokens[o_at + 1 :]:
        return None
    objects = set(subject_side.tokens[s_at + 1 :]) & subject_side.content_set
    verb_at = object_side.tokens.index(verb, o_at + 1)
    before_verb = sorted(set(object_side.tokens[o_at + 1 : verb_at]) & objects)
    if not before_verb:
        return None
    return f"{subject_side.tokens[0]} {verb} {before_verb[0]} vs {object_side.tokens[0]} do {before_verb[0]} {verb}"
