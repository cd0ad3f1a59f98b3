"""Train the cache judge (``tokenyard.cache.judge``) on labelled pair sets.

    pip install -e '.[train]'
    python -m benchmarks.cache.train_judge --hold-out 23,24,25,26

Every pair of the training sets is embedded with the shipped MiniLM and verified as the
shard does; the trees learn from all of them, with which soft check refused the pair as
a feature. The decision limit is chosen out of fold (each set scored by trees that
never saw it), as the score above which at most ``--budget`` of the training sets' miss
pairs would be admitted among the refused ones; then the trees are fitted on every
training set and written with that limit. Sets named in ``--hold-out`` are never read.
Takes about five minutes on two cores (embedding, then seven fits of 300 trees).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import orjson

from tokenyard.cache.config import RouteCacheConfig
from tokenyard.cache.embedding import DIMENSION, MiniLMEmbedder
from tokenyard.cache.judge import JUDGED_REASONS, MODEL_FILE, features
from tokenyard.cache.verify import verify

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT.parent / "shared" / "eval" / "cache_pairs_dev.jsonl"
SETS = ROOT / "tests" / "data"
ITERATIONS = 300
SEED = 0


def pair_files(hold_out: set[str]) -> dict[str, Path]:
    files = {"dev": DEV} if DEV.exists() else {}
    for path in sorted(SETS.glob("cache_pairs_*.jsonl")):
        name = path.stem.removeprefix("cache_pairs_")
        if name.removeprefix("holdout") not in hold_out and name not in hold_out:
            files[name] = path
    return files


def load(files: dict[str, Path]) -> list[dict]:
    rows = []
    for name, path in files.items():
        for line in path.read_bytes().splitlines():
            if line.strip():
                row = orjson.loads(line)
                row["set"] = name
                rows.append(row)
    return rows


def tail_limit(scores: np.ndarray, labels: np.ndarray, admitted: int) -> float:
    """The score above which only ``admitted`` miss pairs remain."""
    misses = np.sort(scores[labels == 0])[::-1]
    return float(misses[admitted]) if admitted < len(misses) else float(misses[-1]) - 1.0


def export(model, limit: float, notes: dict, out: Path) -> None:
    trees = [predictors[0].nodes for predictors in model._predictors]
    width = max(len(nodes) for nodes in trees)
    shape = (len(trees), width)
    feature = np.full(shape, -1, dtype=np.int32)
    threshold = np.zeros(shape, dtype=np.float32)
    left = np.zeros(shape, dtype=np.int32)
    right = np.zeros(shape, dtype=np.int32)
    value = np.zeros(shape, dtype=np.float32)
    for t, nodes in enumerate(trees):
        n = len(nodes)
        leaf = nodes["is_leaf"].astype(bool)
        feature[t, :n] = np.where(leaf, -1, nodes["feature_idx"])
        threshold[t, :n] = nodes["num_threshold"]
        left[t, :n], right[t, :n] = nodes["left"], nodes["right"]
        value[t, :n] = np.where(leaf, nodes["value"], 0.0)
    depth = int(max(nodes["depth"].max() for nodes in trees)) + 1
    np.savez_compressed(
        out, feature=feature, threshold=threshold, left=left, right=right, value=value,
        baseline=np.float64(model._baseline_prediction.ravel()[0]), depth=np.int32(depth),
        limit=np.float64(limit), dimension=np.int32(DIMENSION), notes=np.array(orjson.dumps(notes).decode()),
    )


def main(argv: list[str] | None = None) -> int:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hold-out", default="", help="comma-separated holdout numbers never read (e.g. 23,24)")
    parser.add_argument("--budget", type=float, default=0.0025,
                        help="share of the training miss pairs the judge may admit out of fold (default 0.0025)")
    parser.add_argument("--out", type=Path, default=ROOT / "cache" / MODEL_FILE)
    args = parser.parse_args(argv)

    hold_out = {s.strip() for s in args.hold_out.split(",") if s.strip()}
    files = pair_files(hold_out)
    rows = load(files)
    print(f"{len(rows)} pairs from {len(files)} sets: {', '.join(files)}", file=sys.stderr)

    route = RouteCacheConfig()
    texts = sorted({r["a"] for r in rows} | {r["b"] for r in rows})
    vectors = dict(zip(texts, MiniLMEmbedder().embed(texts), strict=True))
    X, y, groups, soft = [], [], [], []
    for r in rows:
        u, v = vectors[r["a"]], vectors[r["b"]]
        verdict = verify(r["b"], r["a"], max_extra_words=route.max_extra_words)
        refused = float(np.dot(u, v)) >= route.similarity_threshold and verdict.reason in JUDGED_REASONS
        X.append(features(u, v, verdict.reason if refused else "none"))
        y.append(r["label"] == "hit")
        groups.append(r["set"])
        soft.append(refused)
    X, y, groups, soft = np.array(X), np.array(y, dtype=int), np.array(groups), np.array(soft)

    def fit(Xf, yf):
        # A fixed number of trees: the limit chosen out of fold must mean the same on the final
        # fit, and early stopping (sklearn turns it on above 10,000 rows) changes the scale.
        return HistGradientBoostingClassifier(max_iter=ITERATIONS, early_stopping=False, random_state=SEED).fit(Xf, yf)

    out_of_fold = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=6).split(X, y, groups):
        out_of_fold[test] = fit(X[train], y[train]).decision_function(X[test])
    admitted = int(args.budget * (y == 0).sum())
    limit = tail_limit(out_of_fold[soft], y[soft], admitted)
    rescued = int(((out_of_fold > limit) & soft & (y == 1)).sum())
    notes = {
        "sets": list(files), "pairs": len(rows), "miss_pairs": int((y == 0).sum()), "hit_pairs": int(y.sum()),
        "refused_hits": int((soft & (y == 1)).sum()), "refused_misses": int((soft & (y == 0)).sum()),
        "budget": args.budget, "out_of_fold_admitted_misses": admitted, "out_of_fold_rescued_hits": rescued,
        "iterations": ITERATIONS,
    }
    model = fit(X, y)
    export(model, limit, notes, args.out)
    print(orjson.dumps({**notes, "limit": limit, "out": str(args.out)}).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
