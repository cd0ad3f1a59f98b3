"""Arithmetic and comparison operators typed between operands: "2x + 6 = 14" is not "2x - 6 = 14".

The tokeniser keeps letters and digits only, so the operators are read from the text on
their own, in order. A symbol counts only between two operands (a number, a number with
a variable like "2x", a single letter, or a bracket), so the hyphen of "e-mail", the
slash of "and/or", the pluses of "C++" and the sign of "-5" are not operators. The words
people type for an operator ("plus", "divided by") count as the operator.
"""

from __future__ import annotations

import re
from collections import Counter

_WORDS = (
    (re.compile(r"\bplus\b", re.I), "+"),
    (re.compile(r"\bminus\b", re.I), "-"),
    (re.compile(r"\b(?:times|multiplied by)\b", re.I), "*"),
    (re.compile(r"\bdivided by\b", re.I), "/"),
    (re.compile(r"\b(?:equals|is equal to)\b", re.I), "="),
)
_SPELLINGS = {"−": "-", "–": "-", "×": "*", "·": "*", "÷": "/", "==": "="}
_OPERAND = r"(?:(?<![\w.])(?:\d+(?:\.\d+)?[a-z]?|[a-z])|\))"
_NEXT_OPERAND = r"(?=-?\d|[a-z](?![a-z])|\()"  # "x = -5": the sign is not an operator
_OPERATOR = re.compile(
    _OPERAND + r"\s*(<=|>=|==|!=|\*\*|[-+*/=<>^−–×·÷])\s*" + _NEXT_OPERAND, re.I
)


def operators(text: str) -> tuple[str, ...]:
    """The operators between operands in ``text``, in order."""
    for pattern, symbol in _WORDS:
        text = pattern.sub(f" {symbol} ", text)
    return tuple(_SPELLINGS.get(op, op) for op in _OPERATOR.findall(text))


def operator_difference(q_text: str, c_text: str) -> str | None:
    """Each side types an operator the other does not: "2x + 6" vs "2x - 6".

    An operator on one side only is left to the words: "3/4 plus 1/8" asks what "add
    3/4 and 1/8" asks, though only one side types the plus.
    """
    q_ops, c_ops = Counter(operators(q_text)), Counter(operators(c_text))
    q_more, c_more = q_ops - c_ops, c_ops - q_ops
    if q_more and c_more:
        return f"{' '.join(sorted(q_more.elements()))} vs {' '.join(sorted(c_more.elements()))}"
    return None
