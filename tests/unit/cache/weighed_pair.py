"""A pair that passes the word checks with one added word, and small unit vectors for it."""

from __future__ import annotations

import numpy as np

NOW = 1_000.0
STORED = "How many calories are in a large egg?"
ASKED = "How many calories are in a large egg white?"
ASKED_WITHOUT_ADDED = "How many calories are in a large egg"  # what the weighing embeds


def unit(*values: float) -> np.ndarray:
    vector = np.asarray(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)
