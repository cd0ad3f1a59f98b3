"""Before comparing words, meet two spellings of the same word halfway.

Five kinds, all cheap and rarely a different word: a keyword one side writes in
capitals and the other in lower case ("WHERE and HAVING" / "where and having"), words
one side quotes and the other writes bare ("What does 'carpe diem' mean?" / "the
phrase carpe diem"), an acronym on one side spelt out on the other ("GDP" / "gross
domestic product"), two adjacent letters swapped ("Pyhton", "captial"), and a word the
model's vocabulary does not know one letter from a word it knows on the other side
("revrse" / "reverse", see :mod:`spelling`).
"desert"/"dessert", "roast"/"toast", "hotel"/"motel" are all known words, so they stay apart.
"""

from __future__ import annotations

from dataclasses import replace

from tokenyard.cache.analysis import Analysis, content_words, initials, is_content
from tokenyard.cache.spelling import known_stems, misspelling_of

#: Shortest word a swap of two letters is accepted in ("form"/"from" is too short).
MIN_SWAP_LENGTH = 5


def reconcile(q: Analysis, c: Analysis) -> tuple[Analysis, Analysis]:
    """``q`` and ``c`` with one side's spelling replaced by the other's where they match."""
    q, c = _keywords_shared(q, c)
    q, c = _unquoted(q, c)
    c, q = _unquoted(c, q)
    q, c = _expand_acronyms(q, c)
    c, q = _expand_acronyms(c, q)
    q, c = _swapped_letters(q, c)
    q, c = _misspelt(q, c)
    c, q = _misspelt(c, q)
    return q, c


def _keywords_shared(q: Analysis, c: Analysis) -> tuple[Analysis, Analysis]:
    """Both sides with the function words either writes in capitals counted as content."""
    if q.keywords == c.keywords:
        return q, c
    keywords = q.keywords | c.keywords
    return (
        replace(q, keywords=keywords, content=content_words(q.tokens, keywords)),
        replace(c, keywords=keywords, content=content_words(c.tokens, keywords)),
    )


def _unquoted(quoting: Analysis, plain: Analysis) -> tuple[Analysis, Analysis]:
    """``plain`` with the words ``quoting`` quotes, written there unquoted, taken as that quote."""
    for token, words in quoting.quote_words:
        if token in plain.quotes or not words:
            continue
        tokens = plain.tokens
        start = next((i for i in range(len(tokens) - len(words) + 1) if tokens[i : i + len(words)] == words), None)
        if start is None:
            continue
        plain = _run_replaced(plain, start, len(words), token, quotes=tuple(sorted((*plain.quotes, token))))
    return quoting, plain


def _run_replaced(side: Analysis, start: int, length: int, token: str, **changes: object) -> Analysis:
    """``side`` with ``length`` tokens from ``start`` read as ``token``, its content words to match."""
    tokens = (*side.tokens[:start], token, *side.tokens[start + length :])
    return replace(side, tokens=tokens, content=content_words(tokens, side.keywords), **changes)


def _expand_acronyms(short: Analysis, long: Analysis) -> tuple[Analysis, Analysis]:
    """Replace a run of ``long``'s words whose initials spell an acronym of ``short``.

    The run may hold function words ("ROI" / "return on investment", "DNS" / "Domain
    Name System") but at least two of its words must be words only ``long`` has.
    """
    only_long = set(long.content) - set(short.content)
    for word in set(short.content) - set(long.content):
        if not (2 <= len(word) <= 5 and word.isalpha() and word in short.names):
            continue
        tokens = long.tokens
        for start in range(len(tokens) - len(word) + 1):
            run = tokens[start : start + len(word)]
            spelt = all(letter in initials(w) for w, letter in zip(run, word, strict=True))
            one_sided = sum(w in only_long for w in run)
            if spelt and one_sided >= 2 and all(w in only_long or not is_content(w) for w in run):
                long = _run_replaced(long, start, len(word), word, names=long.names | {word})
                break
    return short, long


def _is_swap(a: str, b: str) -> bool:
    if len(a) != len(b) or len(a) < MIN_SWAP_LENGTH or not (a.isalpha() and b.isalpha()):
        return False
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]


def _swapped_letters(q: Analysis, c: Analysis) -> tuple[Analysis, Analysis]:
    q_only = set(q.content) - set(c.content)
    c_only = set(c.content) - set(q.content)
    spelling = {}
    for word in c_only:
        match = next((w for w in q_only if _is_swap(w, word)), None)
        if match is not None:
            spelling[word] = match
    if not spelling:
        return q, c
    content = tuple(spelling.get(w, w) for w in c.content)
    names = frozenset(spelling.get(w, w) for w in c.names)
    return q, replace(c, content=content, names=names)


def _misspelt(right: Analysis, wrong: Analysis) -> tuple[Analysis, Analysis]:
    """``wrong`` with its one-sided unknown words respelt as ``right``'s, names left alone."""
    known = known_stems()
    right_only = set(right.content) - set(wrong.content)
    spelling = {}
    for word in set(wrong.content) - set(right.content) - wrong.names:
        match = misspelling_of(word, right_only, known)
        if match is not None:
            spelling[word] = match
    if not spelling:
        return right, wrong
    return right, replace(wrong, content=tuple(spelling.get(w, w) for w in wrong.content))
