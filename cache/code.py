"""Code typed in backticks is the question's operand, compared character for character.

The tokeniser keeps letters and digits only, so "`[] + []`" and "`[] + {}`", or
"`7 // 2`" and "`7 / 2`", reach the word checks as the same words. Code means exactly
what it says: when both sides type code, the spans must be the same code. Only the
spacing may differ ("`7//2`" is "`7 // 2`"); a space between two word characters
separates tokens, so it stays. A side without backticks is left to the word checks
("what does git stash do" asks what "What does `git stash` do?" asks). Command-line
flags are left to the flag check, which knows "-rf" is "-fr".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tokenyard.cache.flags import without_flags

if TYPE_CHECKING:  # analysis reads the spans with code_spans, so only the type is imported here
    from tokenyard.cache.analysis import Analysis

# Fenced blocks first, so their backticks are not read as inline spans.
_CODE_SPAN = re.compile(r"```[^\n`]*\n(.*?)```|```(.*?)```|`([^`]+)`", re.S)
_SPACE = re.compile(r"\s+")
_SPACE_NOT_BETWEEN_WORDS = re.compile(r"(?<=\W) | (?=\W)")


def code_spans(text: str) -> tuple[str, ...]:
    """The code spans of ``text`` with their spacing normalised, sorted (their order is the prose's)."""
    spans = []
    for match in _CODE_SPAN.finditer(text):
        code = next(g for g in match.groups() if g is not None)
        code = _SPACE_NOT_BETWEEN_WORDS.sub("", _SPACE.sub(" ", without_flags(code)).strip())
        if code:
            spans.append(code)
    return tuple(sorted(spans))


def code_difference(q: Analysis, c: Analysis) -> str | None:
    """Both sides type code and the code differs."""
    if q.code and c.code and q.code != c.code:
        return f"{list(q.code)} vs {list(c.code)}"
    return None
