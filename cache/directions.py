"""Which content word a question moves from and which it moves to.

"10 USD to EUR" and "10 EUR to USD" share every word; the pairs (source, target) around
the direction words (to, into, from, in) are what differ.
"""

from __future__ import annotations

from collections.abc import Collection


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
    return frozenset(found)
