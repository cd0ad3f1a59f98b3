"""Nearest-neighbour search over one cache scope.

Small scopes (most of them: one tenant, one route, one system prompt) are a numpy
matrix searched by brute force, which ENVIRONMENT.md measured as fast as hnswlib
below ~10k vectors and which is exact. At ``brute_force_below`` vectors the scope
moves into an hnswlib graph for good (no flapping back and forth).

Vectors are unit length; similarity is the inner product (= cosine). Not
thread-safe: the shard serialises every call (hnswlib's ``add_items`` must not run
during ``knn_query``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np


@dataclass(frozen=True)
class HnswParams:
    m: int = 16
    ef_construction: int = 200
    ef: int = 64


class _BruteForce:
    def __init__(self, dimension: int, capacity: int = 16):
        self.vectors = np.empty((capacity, dimension), dtype=np.float32)
        self.labels = np.empty(capacity, dtype=np.int64)
        self.slot_of: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.slot_of)

    def add(self, label: int, vector: np.ndarray) -> None:
        slot = self.slot_of.get(label)
        if slot is None:
            slot = len(self.slot_of)
            if slot == len(self.labels):
                self.vectors = np.resize(self.vectors, (2 * slot, self.vectors.shape[1]))
                self.labels = np.resize(self.labels, 2 * slot)
            self.slot_of[label] = slot
            self.labels[slot] = label
        self.vectors[slot] = vector

    def remove(self, label: int) -> None:
        slot = self.slot_of.pop(label)
        last = len(self.slot_of)
        if slot != last:  # move the last row into the hole
            moved = int(self.labels[last])
            self.vectors[slot] = self.vectors[last]
            self.labels[slot] = moved
            self.slot_of[moved] = slot

    def vector(self, label: int) -> np.ndarray:
        return self.vectors[self.slot_of[label]].copy()

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        n = len(self.slot_of)
        if n == 0:
            return []
        sims = self.vectors[:n] @ vector
        k = min(k, n)
        top = np.argpartition(-sims, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(self.labels[i]), float(sims[i])) for i in top]


class _Hnsw:
    def __init__(self, dimension: int, params: HnswParams, capacity: int, saved: Path | None = None):
        self.params = params
        self.graph = hnswlib.Index(space="ip", dim=dimension)
        if saved is None:
            self.graph.init_index(
                max_elements=capacity,
                ef_construction=params.ef_construction,
                M=params.m,
                allow_replace_deleted=True,
            )
        else:
            self.graph.load_index(str(saved), allow_replace_deleted=True)
        self.graph.set_ef(params.ef)
        self.graph.set_num_threads(1)
        self.live: set[int] = set()
        self.deleted = 0

    def __len__(self) -> int:
        return len(self.live)

    def add_many(self, labels: np.ndarray, vectors: np.ndarray, threads: int = 1) -> None:
        needed = self.graph.get_current_count() - self.deleted + len(labels)
        if needed > self.graph.get_max_elements():
            self.graph.resize_index(max(needed, 2 * self.graph.get_max_elements()))
        # replace_deleted reuses the slots of removed entries instead of growing.
        self.graph.add_items(vectors, labels, num_threads=threads, replace_deleted=True)
        reused = min(self.deleted, len(labels))
        self.deleted -= reused
        self.live.update(labels.tolist())

    def remove(self, label: int) -> None:
        self.live.remove(label)
        self.graph.mark_deleted(label)
        self.deleted += 1

    def vector(self, label: int) -> np.ndarray:
        return np.asarray(self.graph.get_items([label])[0], dtype=np.float32)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, len(self.live))
        if k == 0:
            return []
        labels, distances = self.graph.knn_query(vector, k=k)
        return [(int(label), 1.0 - float(d)) for label, d in zip(labels[0], distances[0], strict=True)]


class VectorIndex:
    """Labels (ints chosen by the shard) to unit vectors; top-k by cosine."""

    def __init__(self, dimension: int, *, brute_force_below: int = 10_000, hnsw: HnswParams | None = None):
        self.dimension = dimension
        self.brute_force_below = brute_force_below
        self.hnsw_params = hnsw or HnswParams()
        self._brute: _BruteForce | None = _BruteForce(dimension)
        self._hnsw: _Hnsw | None = None
        if brute_force_below == 0:
            self._switch_to_hnsw(1024)

    @property
    def kind(self) -> str:
        return "brute_force" if self._hnsw is None else "hnsw"

    def __len__(self) -> int:
        return len(self._hnsw) if self._hnsw is not None else len(self._brute or ())

    def __contains__(self, label: int) -> bool:
        if self._hnsw is not None:
            return label in self._hnsw.live
        return self._brute is not None and label in self._brute.slot_of

    def labels(self) -> list[int]:
        if self._hnsw is not None:
            return list(self._hnsw.live)
        return list(self._brute.slot_of) if self._brute is not None else []

    def add(self, label: int, vector: np.ndarray) -> None:
        self.add_many(np.array([label], dtype=np.int64), np.asarray(vector, dtype=np.float32)[None, :])

    def add_many(self, labels: np.ndarray, vectors: np.ndarray, threads: int = 1) -> None:
        """Add new labels; ``threads`` > 1 builds the graph in parallel (rebuilds)."""
        if vectors.shape != (len(labels), self.dimension):
            raise ValueError(f"expected vectors of shape ({len(labels)}, {self.dimension}), got {vectors.shape}")
        # hnswlib's replace_deleted relabels freed slots; a label used twice would leave
        # a stale mapping behind, so labels are never reused (the shard counts up).
        if any(label in self for label in labels.tolist()):
            raise ValueError("label already in the index; labels are never reused")
        if self._hnsw is None and self._brute is not None:
            if len(self._brute) + len(labels) < self.brute_force_below:
                for label, vector in zip(labels.tolist(), vectors, strict=True):
                    self._brute.add(label, vector)
                return
            self._switch_to_hnsw(2 * (len(self._brute) + len(labels)), threads)
        assert self._hnsw is not None
        self._hnsw.add_many(labels, vectors, threads)

    def remove(self, label: int) -> None:
        if self._hnsw is not None:
            self._hnsw.remove(label)
        elif self._brute is not None:
            self._brute.remove(label)

    def vector(self, label: int) -> np.ndarray:
        """The vector stored under ``label`` (KeyError if there is none)."""
        if self._hnsw is not None:
            if label not in self._hnsw.live:
                raise KeyError(label)
            return self._hnsw.vector(label)
        if self._brute is None:
            raise KeyError(label)
        return self._brute.vector(label)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (label, similarity) pairs, most similar first."""
        query = np.asarray(vector, dtype=np.float32)
        if self._hnsw is not None:
            return self._hnsw.search(query, k)
        return self._brute.search(query, k) if self._brute is not None else []

    def set_ef(self, ef: int) -> None:
        self.hnsw_params = HnswParams(self.hnsw_params.m, self.hnsw_params.ef_construction, ef)
        if self._hnsw is not None:
            self._hnsw.graph.set_ef(ef)

    def save(self, directory: Path, name: str) -> dict[str, Any]:
        """Write the index to files ``name.*`` in ``directory``; returns what :meth:`load` needs."""
        if self._hnsw is not None:
            self._hnsw.graph.save_index(str(directory / f"{name}.hnsw"))
            np.save(directory / f"{name}.labels.npy", np.array(sorted(self._hnsw.live), dtype=np.int64))
            return {"kind": "hnsw", "deleted": self._hnsw.deleted, "files": [f"{name}.hnsw", f"{name}.labels.npy"]}
        brute = self._brute or _BruteForce(self.dimension)
        n = len(brute)
        np.save(directory / f"{name}.labels.npy", brute.labels[:n])
        np.save(directory / f"{name}.vectors.npy", brute.vectors[:n])
        return {"kind": "brute_force", "files": [f"{name}.labels.npy", f"{name}.vectors.npy"]}

    @classmethod
    def load(
        cls, directory: Path, name: str, saved: dict[str, Any], dimension: int, *,
        brute_force_below: int, hnsw: HnswParams,
    ) -> VectorIndex:
        """The index :meth:`save` wrote; ValueError when the files do not fit together."""
        index = cls(dimension, brute_force_below=max(brute_force_below, 1), hnsw=hnsw)
        index.brute_force_below = brute_force_below
        labels = np.load(directory / f"{name}.labels.npy", allow_pickle=False)
        if labels.dtype != np.int64 or labels.ndim != 1 or len(set(labels.tolist())) != len(labels):
            raise ValueError(f"{name}: labels are not distinct int64")
        if saved["kind"] == "hnsw":
            graph = _Hnsw(dimension, hnsw, 0, saved=directory / f"{name}.hnsw")
            graph.live, graph.deleted = set(labels.tolist()), int(saved["deleted"])
            stored = graph.graph.get_ids_list()
            if graph.graph.dim != dimension or len(stored) != len(labels) + graph.deleted or not graph.live <= set(stored):
                raise ValueError(f"{name}: the graph does not hold the saved labels")
            index._hnsw, index._brute = graph, None
        elif saved["kind"] == "brute_force":
            vectors = np.load(directory / f"{name}.vectors.npy", allow_pickle=False)
            if vectors.dtype != np.float32 or vectors.shape != (len(labels), dimension):
                raise ValueError(f"{name}: vectors of shape {vectors.shape} for {len(labels)} labels")
            brute = _BruteForce(dimension, max(16, len(labels)))
            for label, vector in zip(labels.tolist(), vectors, strict=True):
                brute.add(label, vector)
            index._brute = brute
        else:
            raise ValueError(f"{name}: unknown index kind {saved['kind']!r}")
        return index

    def _switch_to_hnsw(self, capacity: int, threads: int = 1) -> None:
        hnsw = _Hnsw(self.dimension, self.hnsw_params, max(capacity, 16))
        if self._brute is not None and len(self._brute):
            n = len(self._brute)
            hnsw.add_many(self._brute.labels[:n].copy(), self._brute.vectors[:n].copy(), threads)
        self._hnsw, self._brute = hnsw, None
