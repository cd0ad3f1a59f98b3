"""The trainer's export: numpy walking the exported trees gives sklearn's own scores."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from benchmarks.cache.train_judge import export, tail_limit
from tokenyard.cache.judge import features, load_judge


def test_exported_trees_score_as_sklearn_does(tmp_path):
    rng = np.random.default_rng(0)
    u = rng.normal(size=(400, 384)).astype(np.float32)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = u + 0.3 * rng.normal(size=u.shape).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    reasons = rng.choice(["qualifier", "substitution", "unmatched_name", "none"], len(u))
    X = np.array([features(a, b, r) for a, b, r in zip(u, v, reasons, strict=True)])
    y = (X[:, :384].sum(axis=1) > np.median(X[:, :384].sum(axis=1))).astype(int)
    model = HistGradientBoostingClassifier(max_iter=40, early_stopping=False, random_state=0).fit(X, y)

    export(model, limit=0.5, notes={"sets": ["synthetic"]}, out=tmp_path / "judge.npz")
    judge = load_judge(tmp_path / "judge.npz")

    ours = np.array([judge.score(a, b, r) for a, b, r in zip(u, v, reasons, strict=True)])
    np.testing.assert_allclose(ours, model.decision_function(X), atol=1e-4)
    assert judge.limit == 0.5 and judge.dimension == 384


def test_the_limit_leaves_exactly_the_allowed_misses_above_it():
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    labels = np.array([0, 1, 0, 1, 0, 1])
    limit = tail_limit(scores, labels, admitted=1)
    assert ((scores > limit) & (labels == 0)).sum() == 1 and limit == 3.0
