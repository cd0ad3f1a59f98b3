"""Texts and vectors for ``tokenyard bench cache``.

Embedding a million texts with MiniLM would take hours here, so the bulk of a large
index is *derived* from real embeddings:

* the texts are the unique questions of the labelled pair files in ``tests/data``
  (about two thousand, many topics); ``QUERY_PAIRS`` pairs are set aside, and their
  ``b`` sides are never used to derive bulk vectors (they are the held-out queries);
* every other text is embedded for real once: the *bases*;
* bulk vector ``i`` = base ``i % len(bases)`` + Gaussian noise with a per-vector sigma
  drawn uniformly from ``SIGMA``, renormalised to unit length. Its cosine to its base
  is about 1/sqrt(1 + 384 sigma^2): 0.79 to 0.96, i.e. clusters of near-paraphrases
  around real questions (harder for an ANN index than uniform random vectors);
* a bulk entry's prompt is its base's text plus " (entry i)", so exact keys stay
  distinct; when such a neighbour clears the similarity threshold the verifier runs
  on it and rejects it (the number differs), as it would reject a near-miss.

Blocks are regenerated from their seed, so brute-force search can sweep the whole
set without holding a second copy in memory.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenyard.cache.embedding import Embedder
from tokenyard.cache.quality import LabelledPair, load_pairs

PAIR_FILES = Path(__file__).resolve().parents[2] / "tests" / "data"
QUERY_PAIRS = 300
SIGMA = (0.015, 0.04)
BLOCK = 10_000


@dataclass(frozen=True)
class Corpus:
    queries: list[str]  # held out: embedded for the lookups, never a base
    stored: list[str]  # the queries' `a` sides, stored with their real embeddings
    query_vectors: np.ndarray
    stored_vectors: np.ndarray
    base_texts: list[str]
    base_vectors: np.ndarray


def load_corpus(embedder: Embedder, seed: int = 0) -> Corpus:
    pairs: list[LabelledPair] = []
    for path in sorted(PAIR_FILES.glob("cache_pairs_*.jsonl")):
        pairs.extend(load_pairs(path))
    random.Random(seed).shuffle(pairs)
    held, seen = [], set()
    for pair in pairs:  # a text stored twice would be one entry but two brute-force rows
        if len(held) < QUERY_PAIRS and pair.a not in seen and pair.b not in seen and pair.a != pair.b:
            held.append(pair)
            seen.update((pair.a, pair.b))
    queries = [p.b for p in held]
    stored = [p.a for p in held]
    excluded = set(queries) | set(stored)
    bases = sorted({t for p in pairs for t in (p.a, p.b)} - excluded)
    return Corpus(
        queries=queries,
        stored=stored,
        query_vectors=embedder.embed(queries),
        stored_vectors=embedder.embed(stored),
        base_texts=bases,
        base_vectors=embedder.embed(bases),
    )


def bulk_block(corpus: Corpus, start: int, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Bulk vectors ``start .. start+count`` (``start`` a multiple of BLOCK) and their base indices."""
    rng = np.random.default_rng([seed, start])
    base_index = np.arange(start, start + count) % len(corpus.base_texts)
    sigma = rng.uniform(*SIGMA, size=(count, 1)).astype(np.float32)
    noise = rng.standard_normal((count, corpus.base_vectors.shape[1]), dtype=np.float32)
    vectors = corpus.base_vectors[base_index] + sigma * noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), base_index


def bulk_blocks(corpus: Corpus, size: int, seed: int = 0) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    for start in range(0, size, BLOCK):
        vectors, base_index = bulk_block(corpus, start, min(BLOCK, size - start), seed)
        yield start, vectors, base_index


def bulk_text(corpus: Corpus, i: int, base_index: int) -> str:
    return f"{corpus.base_texts[base_index]} (entry {i})"


def brute_force_top(corpus: Corpus, size: int, queries: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Exact top-``k`` similarities of each query over bulk + stored vectors, best first."""
    best = queries @ corpus.stored_vectors.T
    for _, vectors, _ in bulk_blocks(corpus, size, seed):
        best = np.concatenate([best, queries @ vectors.T], axis=1)
        best = -np.sort(-best, axis=1)[:, :k]
    return -np.sort(-best, axis=1)[:, :k]
