"""Command-line flags: "-rf", "--force". They are compared as a set, apart from the words.

``ls -a`` and ``ls -l`` share every word; only the flag tells them apart, and a single
letter is too short to be a content word. So flags are taken out of the text before it
is tokenised and compared on their own, bundled short flags split into one per letter
("-rf" is "-fr" is "-r -f").
"""

from __future__ import annotations

import re

# A flag starts a word (after a space, a backtick or the start) with one or two dashes
# and a letter. "e-mail", "-5" and "a - b" are not flags.
FLAG = re.compile(r"(?<![\w-])(--?)([A-Za-z][\w-]*)")
_SHORT_BUNDLE = re.compile(r"^[A-Za-z]{1,4}$")


def flags(text: str) -> frozenset[str]:
    """The command-line flags in ``text``, bundled short flags split into one per letter."""
    found: set[str] = set()
    for dashes, body in FLAG.findall(text):
        if dashes == "-" and _SHORT_BUNDLE.match(body):
            found.update(f"-{letter}" for letter in body)
        else:
            found.add(dashes + body.lower())
    return frozenset(found)


def without_flags(text: str) -> str:
    return FLAG.sub(" ", text)
