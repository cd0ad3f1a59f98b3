"""A second opinion on candidates the word checks refused softly.

The verifier refuses a pair when a word was swapped for one it does not know as a
synonym ("stop pasta sticking" / "keep pasta from sticking"), when one side has a
qualifier, or when a name is unmatched. Those refusals protect against near misses,
but half the paraphrases lost on unseen sets were lost there. Word lists cannot meet
them all; the model's own vectors can, once a classifier learns which differences
between two vectors mean a different question.

The judge is gradient-boosted trees over the pair's MiniLM vectors (their product and
absolute difference, the cosine) and which soft check refused it, trained on the
labelled pair sets by ``benchmarks/cache/train_judge.py``. It only ever reopens those
three refusals: typed checks (numbers, negation, direction, antonyms, roles, code,
quotes, ...) stay vetoes. Inference is plain numpy, about 0.3 ms a pair.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenyard.errors import ConfigError

#: The refusals the judge may reopen, in the order of their one-hot features.
JUDGED_REASONS = ("qualifier", "substitution", "unmatched_name")
MODEL_FILE = "judge_minilm.npz"


def features(u: np.ndarray, v: np.ndarray, reason: str) -> np.ndarray:
    """One pair's features: symmetric in ``u`` and ``v`` (stored vs asked does not matter)."""
    u = np.asarray(u, dtype=np.float32)
    v = np.asarray(v, dtype=np.float32)
    onehot = np.array([reason == r for r in JUDGED_REASONS], dtype=np.float32)
    return np.concatenate([u * v, np.abs(u - v), [float(np.dot(u, v))], onehot]).astype(np.float32)


@dataclass(frozen=True)
class Judge:
    """Trees as flat arrays, all trees padded to the same node count."""

    feature: np.ndarray  # (trees, nodes) int32, -1 at a leaf
    threshold: np.ndarray  # (trees, nodes) float32: go left when x <= threshold
    left: np.ndarray  # (trees, nodes) int32
    right: np.ndarray  # (trees, nodes) int32
    value: np.ndarray  # (trees, nodes) float32, a leaf's contribution
    baseline: float
    depth: int
    limit: float  # the decision the trainer chose (see the model file's notes)
    dimension: int  # of the vectors it was trained on (all-MiniLM-L6-v2's)

    def score(self, u: np.ndarray, v: np.ndarray, reason: str) -> float:
        """The log-odds that the pair asks the same question."""
        x = features(u, v, reason)
        trees = np.arange(self.feature.shape[0])
        node = np.zeros(self.feature.shape[0], dtype=np.int32)
        for _ in range(self.depth):
            feat = self.feature[trees, node]
            leaf = feat < 0
            go_left = x[np.where(leaf, 0, feat)] <= self.threshold[trees, node]
            node = np.where(leaf, node, np.where(go_left, self.left[trees, node], self.right[trees, node]))
        return self.baseline + float(self.value[trees, node].sum())

    def admits(self, u: np.ndarray, v: np.ndarray, reason: str, limit: float | None = None) -> bool:
        if reason not in JUDGED_REASONS:
            return False
        return self.score(u, v, reason) > (self.limit if limit is None else limit)


def load_judge(path: Path | None = None) -> Judge:
    """The judge from ``path``, or the one shipped with tokenyard."""
    try:
        source = path or Path(str(importlib.resources.files("tokenyard.cache").joinpath(MODEL_FILE)))
        with np.load(source, allow_pickle=False) as data:
            return Judge(
                feature=data["feature"], threshold=data["threshold"], left=data["left"], right=data["right"],
                value=data["value"], baseline=float(data["baseline"]), depth=int(data["depth"]),
                limit=float(data["limit"]), dimension=int(data["dimension"]),
            )
    except (OSError, KeyError, ValueError) as exc:
        raise ConfigError(f"cannot load the cache judge from {path or MODEL_FILE}: {exc}") from exc


@functools.cache
def shipped_judge() -> Judge:
    """The shipped judge, read once per process on first use."""
    return load_judge()
