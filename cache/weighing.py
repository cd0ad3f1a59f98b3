"""Does a word only one side has change what is asked? The embedding model decides.

The verifier lets a pair pass with a word or two only one side has ("Which city is
France's capital?" has "city"). Word lists cannot tell such a filler from a word that
narrows or turns the question ("a large egg" / "a large egg white", "caulk a bathtub" /
"remove old caulk from a bathtub"), but the model can: drop the added words and embed
what is left. If that text is much closer to the other side than the full text was, the
added words carried meaning the other side lacks, and the candidate is refused.

The limit (0.06) was chosen with ``max_extra_words`` (3) as one pair of scalars on the
sets up to holdout14, and then measured on holdout15/16, which played no part in it: one
false hit in 626 miss pairs and recall 0.58, against 3 and 0.54 with the previous pair
(2 words, 0.08). The check costs one more embedding, paid only by a candidate that
passed with added words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tokenyard.cache.analysis import canonical
from tokenyard.cache.results import Hit, Miss

_WORD = re.compile(r"\S+")
_LETTERS = re.compile(r"[^a-z0-9]")

#: The rejection reason a weighed-out candidate is counted under.
REASON = "added_words"


@dataclass(frozen=True)
class Weighing:
    """What a semantic hit still needs before it is served: the added words weighed."""

    text: str  # the side with the added words, those words dropped
    other: np.ndarray  # the other side's vector
    similarity: float  # of the full texts
    limit: float  # the route's ``added_words_max_gain``


def without_words(text: str, words: tuple[str, ...]) -> str:
    """``text`` minus every word whose canonical form is one of ``words``."""
    dropped = frozenset(words)
    return " ".join(w for w in _WORD.findall(text) if canonical(_LETTERS.sub("", w.lower())) not in dropped)


def gain(reduced: np.ndarray, weighing: Weighing) -> float:
    """How much closer to the other side the text came without the added words."""
    return float(np.dot(np.asarray(reduced, dtype=np.float32), weighing.other)) - weighing.similarity


def settle(hit: Hit, reduced: np.ndarray | None) -> Hit | Miss:
    """The hit, or a rejection when its added words weigh too much (or could not be weighed)."""
    weighing = hit.weighing
    if weighing is None:
        return hit
    # reduced is None when the model declined: refuse rather than serve unweighed
    if reduced is None or gain(reduced, weighing) >= weighing.limit:
        return Miss("rejected", 1, hit.similarity, (REASON,))
    return Hit(hit.entry, hit.similarity, hit.kind)
