from __future__ import annotations

import numpy as np
import pytest

from tokenyard.cache.index import VectorIndex


def unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("threshold", [1_000, 0, 50])
def test_search_finds_each_vector_first_in_both_modes(threshold):
    vectors = unit_vectors(200)
    index = VectorIndex(32, brute_force_below=threshold)
    index.add_many(np.arange(200, dtype=np.int64), vectors)
    assert index.kind == ("brute_force" if threshold == 1_000 else "hnsw")
    for i in range(0, 200, 17):
        label, similarity = index.search(vectors[i], 3)[0]
        assert label == i and similarity == pytest.approx(1.0, abs=1e-5)


def test_removed_labels_are_never_returned_and_slots_are_reused():
    vectors = unit_vectors(120, seed=1)
    index = VectorIndex(32, brute_force_below=20)
    index.add_many(np.arange(60, dtype=np.int64), vectors[:60])
    for label in range(0, 60, 2):
        index.remove(label)
    index.add_many(np.arange(60, 120, dtype=np.int64), vectors[60:])
    assert len(index) == 90
    found = {label for v in vectors for label, _ in index.search(v, 5)}
    assert not found & set(range(0, 60, 2))
    assert index.search(vectors[61], 1)[0][0] == 61


def test_brute_force_removal_keeps_labels_aligned():
    vectors = unit_vectors(10, seed=2)
    index = VectorIndex(32, brute_force_below=100)
    index.add_many(np.arange(10, dtype=np.int64), vectors)
    index.remove(0)
    index.remove(5)
    for i in (1, 4, 9):
        assert index.search(vectors[i], 1)[0][0] == i
    assert len(index) == 8 and 5 not in index


def test_labels_are_never_reused_and_shapes_are_checked():
    index = VectorIndex(32)
    index.add(1, unit_vectors(1)[0])
    with pytest.raises(ValueError, match="never reused"):
        index.add(1, unit_vectors(1)[0])
    with pytest.raises(ValueError, match="shape"):
        index.add(2, np.ones(3, dtype=np.float32))


def test_empty_index_returns_nothing():
    assert VectorIndex(32).search(unit_vectors(1)[0], 4) == []
