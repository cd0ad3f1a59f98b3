from __future__ import annotations

import numpy as np

from tokenyard.streams.bench.cache_corpus import BLOCK, Corpus, brute_force_top, bulk_block, bulk_blocks


def _corpus(bases: int = 50, dim: int = 384) -> Corpus:
    rng = np.random.default_rng(1)

    def unit(n: int) -> np.ndarray:
        v = rng.standard_normal((n, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return Corpus(queries=["q"] * 5, stored=["s"] * 5, query_vectors=unit(5), stored_vectors=unit(5),
                  base_texts=[f"b{i}" for i in range(bases)], base_vectors=unit(bases))


def test_bulk_vectors_are_unit_length_near_their_base_and_reproducible():
    corpus = _corpus()
    vectors, base_index = bulk_block(corpus, 0, 500)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * corpus.base_vectors[base_index], axis=1)
    assert cosines.min() > 0.75 and cosines.max() < 0.98  # 1/sqrt(1 + 384 sigma^2), sigma in SIGMA
    again, _ = bulk_block(corpus, 0, 500)
    assert np.array_equal(vectors, again)
    assert not np.array_equal(bulk_block(corpus, BLOCK, 500)[0], vectors)


def test_brute_force_top_matches_a_full_sort():
    corpus = _corpus()
    size = BLOCK + 300  # two blocks
    everything = np.concatenate([corpus.stored_vectors] + [v for _, v, _ in bulk_blocks(corpus, size)])
    expected = -np.sort(-(corpus.query_vectors @ everything.T), axis=1)[:, :4]
    assert np.allclose(brute_force_top(corpus, size, corpus.query_vectors, 4), expected, atol=1e-6)
