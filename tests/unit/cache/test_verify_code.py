"""Code in backticks is compared as code: any difference but spacing is another question."""

from __future__ import annotations

import pytest

from tests.unit.cache.both_ways import fails_both_ways, passes_both_ways
from tokenyard.cache.code import code_spans

DIFFERENT_CODE = [
    ("What does `console.log([] + [])` output in JavaScript?",
     "What does `console.log([] + {})` output in JavaScript?"),
    ("What does `'5' + '3'` evaluate to in JavaScript?", "What does `'5' - '3'` evaluate to in JavaScript?"),
    ("What does this Python print: `print(7 // 2)`?", "What does this Python print: `print(7 / 2)`?"),
    ("What is the result of `2 ** 3 ** 2` in Python?", "What is the result of `(2 ** 3) ** 2` in Python?"),
    ("Which rows does `SELECT * FROM t WHERE a > 1 OR b = 2` return?",
     "Which rows does `SELECT * FROM t WHERE a > 1 AND b = 2` return?"),
    ("What does this print?\n```\nprint(sorted([3, 1, 2]))\n```", "What does this print?\n```\nprint(sorted([3, 1, 2], reverse=True))\n```"),
]

SAME_CODE = [
    ("What does `console.log([] + {})` output in JavaScript?",
     "In JavaScript, what is printed by `console.log([] + {})`?"),
    ("What does `print(7 // 2)` output in Python?", "In Python, what does `print(7//2)` output?"),
    ("What is the difference between `==` and `===` in JavaScript?",
     "In JavaScript, how does `===` differ from `==`?"),
    # one side without backticks: left to the word checks
    ("whats the difference between git merge and git rebase",
     "What's the difference between `git merge` and `git rebase`?"),
    # flags are the flag check's business, which knows bundles
    ("What does `rm -rf` do?", "What is the effect of `rm -fr`?"),
]


@pytest.mark.parametrize(("a", "b"), DIFFERENT_CODE)
def test_different_code_fails_on_both_sides(a: str, b: str) -> None:
    fails_both_ways(a, b, "code")


@pytest.mark.parametrize(("a", "b"), SAME_CODE)
def test_same_code_in_other_words_passes(a: str, b: str) -> None:
    passes_both_ways(a, b)


def test_spacing_is_normalised_but_a_space_between_words_is_kept() -> None:
    assert code_spans("`x  =  [1,2]` and `import os`") == ("import os", "x=[1,2]")
    assert code_spans("```python\nfor i in  range(3):\n    print(i)\n```") == ("for i in range(3):print(i)",)
    assert code_spans("no code here") == ()
