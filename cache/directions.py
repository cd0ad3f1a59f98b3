"""Which content word a question moves from and which it moves to.

"10 USD to EUR" and "10 EUR to USD" share every word; the pairs (source, target) around
the direction words (to, into, from, in) are what differ.
"""

from __future__ import annotations

from collections.abc import Collection

_PHRASE_LINKS = frozenset({"of", "per"})


def directions(
    tokens: tuple[str, ...], content: Collection[str], names: Collection[str], direction_words: Collection[str]
) -> frozenset[tuple[str, str]]:
    """(source, target) pairs: the nearest content words before and after each direction word."""
    found: set[tuple[str, str]] = set()
    for i, token in enumerate(tokens):
        if token not in direction_words:
            continue
        before, after = tokens[max(0, i - 3) : i][::-1], tokens[i + 1 : i + 4]
        source = next((t for t in before if t in content), None)
        target = next((t for t in after if t in content), None)
        if source and target and source != target:
            found.add((source, target))
            # "a list of characters to a string" converts the list; "kilometers per hour to
            # minutes per mile" the kilometers: the word before of/per is an end too.
            head = _phrase_head(tokens, i, source, content)
            if head and head != target:
                found.add((head, target))
        # "a Word document to a PDF": the names on either side are the ends too.
        source = next((t for t in before if t in content and t in names), None)
        target = next((t for t in after if t in content and t in names), None)
        if source and target and source != target:
            found.add((source, target))
    # "from my checking account to my savings account": the words right after from and to.
    for i, token in enumerate(tokens):
        if token != "from":
            continue
        source = next((t for t in tokens[i + 1 :] if t in content), None)
        to = next((j for j in range(i + 1, len(tokens)) if tokens[j] in ("to", "into")), None)
        target = next((t for t in tokens[to + 1 :] if t in content), None) if to is not None else None
        if source and target and source != target:
            found.add((source, target))
        # "from most to least": the ends may be function words, then taken as written.
        if i + 3 < len(tokens) and tokens[i + 2] in ("to", "into") and tokens[i + 1] != tokens[i + 3]:
            found.add((tokens[i + 1], tokens[i + 3]))
    return frozenset(found)


def _phrase_head(tokens: tuple[str, ...], direction_at: int, source: str, content: Collection[str]) -> str | None:
    """The content word before "of"/"per" when ``source`` closes an "X of Y" or "X per Y"
    phrase right before the direction word; None otherwise."""
    at = max(j for j in range(direction_at) if tokens[j] == source)
    if at < 2 or tokens[at - 1] not in _PHRASE_LINKS:
        return None
    return next((t for t in reversed(tokens[max(0, at - 4) : at - 1]) if t in content), None)
