"""One partition's cache: exact map, one vector index per scope, TTL and capacity
(what a lookup answers is in :mod:`tokenyard.cache.results`, what is stored in
:mod:`tokenyard.cache.storing`).

A shard is a fold of the cache topic's records (:meth:`CacheShard.apply`), so every
worker that replays the same records holds the same shard. That is why eviction is
oldest-first by arrival rather than LRU: LRU would depend on lookups, which are not
on the topic, and two rebuilds would disagree.

All methods take ``now`` (seconds) instead of reading a clock. Calls are serialised
by a lock: hnswlib must not add while it searches.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections.abc import Iterable

import numpy as np

from tokenyard.cache.analysis import analyse
from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.entry import CacheEntry, CacheInvalidation, CacheRecord, CacheTombstone
from tokenyard.cache.index import HnswParams, VectorIndex
from tokenyard.cache.embedding import DIMENSION
from tokenyard.cache.judge import Judge, shipped_judge
from tokenyard.cache.keys import CacheKeys, cache_policy, fits_max_tokens, request_keys
from tokenyard.cache.results import CacheStats, Hit, Miss
from tokenyard.cache.verify import Verdict, verify
from tokenyard.cache.weighing import Weighing, settle, without_words
from tokenyard.schemas.records import Request

log = logging.getLogger(__name__)


class CacheShard:
    """The cache of one partition. Build it by :meth:`apply`-ing the topic in order."""

    def __init__(self, config: CacheConfig, dimension: int = 384, judge: Judge | None = None):
        self.config = config
        self.dimension = dimension
        # The shipped judge reads MiniLM vectors; a shard of another dimension has none.
        self._judge = judge if judge is not None else (shipped_judge() if dimension == DIMENSION else None)
        self.stats = CacheStats()
        self._lock = threading.RLock()
        self._entries: dict[str, CacheEntry] = {}  # entry_id -> entry, in arrival order
        self._label_of: dict[str, int] = {}
        self._entry_of_label: dict[int, str] = {}
        self._scopes: dict[str, VectorIndex] = {}
        self._expiry: list[tuple[float, int, str]] = []  # (expires_at, label, entry_id), lazy
        self._invalidations: list[CacheInvalidation] = []
        self._next_label = 0
        # During apply_many: vectors waiting to be indexed in one parallel batch.
        self._pending: dict[int, tuple[str, np.ndarray]] | None = None

    # -- the fold -------------------------------------------------------------------

    def apply(self, record: CacheRecord, now: float) -> None:
        """Apply one record of the cache topic; replaying the topic rebuilds the shard."""
        with self._lock:
            self._apply(record, now)

    def apply_many(self, records: Iterable[CacheRecord], now: float, *, threads: int = 2) -> int:
        """Apply records in order, indexing the surviving vectors at the end in parallel.

        The same fold as calling :meth:`apply` on each record, only faster for a rebuild:
        entries deleted or evicted later in the batch never reach the index.
        """
        self.begin_replay()
        try:
            return self.apply_replayed(((record, None) for record in records), now)
        finally:
            self.end_replay(threads)

    def begin_replay(self) -> None:
        """From now on vectors wait for :meth:`end_replay` instead of entering the index.

        Only for a shard that is not served yet (a rebuild): lookups would miss them.
        """
        with self._lock:
            if self._pending is None:
                self._pending = {}

    def apply_replayed(self, records: Iterable[tuple[CacheRecord, np.ndarray | None]], now: float) -> int:
        """Fold records between :meth:`begin_replay` and :meth:`end_replay`.

        Each record comes with its entry's vector when it was decoded apart (in bulk,
        see :func:`~tokenyard.cache.entry.decode_values`); None means the entry's own.
        Returns how many were folded: an entry whose vector has another size is left
        out (logged), and the caller counts it as a record it could not read.
        """
        count = 0
        with self._lock:
            for record, vector in records:
                try:
                    if isinstance(record, CacheEntry):
                        self._put(record, now, vector)
                    else:
                        self._apply(record, now)
                except ValueError as exc:  # a vector of another size: that entry is left out
                    log.warning("cache rebuild skipped a record: %s", exc)
                    continue
                count += 1
            self.stats.entries = len(self._entries)
            self.stats.scopes = len(self._scopes)
        return count

    def end_replay(self, threads: int = 2) -> None:
        """Index the vectors of the entries that survived the replay, per scope in one batch.

        hnswlib builds a graph in ``threads`` threads and releases the GIL meanwhile.
        """
        with self._lock:
            pending, self._pending = self._pending, None
            if not pending:
                return
            by_scope: dict[str, list[int]] = {}
            for label, (scope_id, _) in pending.items():
                by_scope.setdefault(scope_id, []).append(label)
            for scope_id, labels in by_scope.items():
                vectors = np.stack([pending[label][1] for label in labels])
                self._scope_index(scope_id).add_many(np.array(labels, dtype=np.int64), vectors, threads)
            self.stats.scopes = len(self._scopes)

    def _apply(self, record: CacheRecord, now: float) -> None:
        if isinstance(record, CacheEntry):
            self._put(record, now)
        elif isinstance(record, CacheTombstone):
            self._remove(record.entry_id)
        elif isinstance(record, CacheInvalidation):
            self._invalidate(record)
        else:
            raise TypeError(f"not a cache record: {type(record).__name__}")
        self.stats.entries = len(self._entries)
        self.stats.scopes = len(self._scopes)

    def _put(self, entry: CacheEntry, now: float, vector: np.ndarray | None = None) -> None:
        if vector is None:
            vector = entry.embedding
        if vector is not None and vector.shape != (self.dimension,):
            # refused before anything changes: the shard stays as it was
            raise ValueError(f"embedding of {entry.entry_id} has shape {vector.shape}")
        current = self._entries.get(entry.entry_id)
        if current is not None and current.created_at > entry.created_at:
            return  # a redelivered older answer never replaces a newer one
        if any(inv.matches(entry) for inv in self._invalidations):
            return
        if current is not None:
            self._remove(entry.entry_id)
        if entry.expires_at <= now:
            return
        label = self._next_label
        self._next_label += 1
        self._entries[entry.entry_id] = entry if entry.embedding is None else entry.without_embedding()
        self._label_of[entry.entry_id] = label
        self._entry_of_label[label] = entry.entry_id
        heapq.heappush(self._expiry, (entry.expires_at, label, entry.entry_id))
        if vector is not None:
            if self._pending is not None:
                self._pending[label] = (entry.scope_id, vector)
            else:
                self._scope_index(entry.scope_id).add(label, vector)
        while len(self._entries) > self.config.capacity_per_shard:
            oldest = next(iter(self._entries))
            self._remove(oldest)
            self.stats.evicted += 1

    def _scope_index(self, scope_id: str) -> VectorIndex:
        index = self._scopes.get(scope_id)
        if index is None:
            index = VectorIndex(
                self.dimension,
                brute_force_below=self.config.brute_force_below,
                hnsw=HnswParams(self.config.hnsw_m, self.config.hnsw_ef_construction, self.config.hnsw_ef),
            )
            self._scopes[scope_id] = index
        return index

    def _remove(self, entry_id: str) -> bool:
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            return False
        label = self._label_of.pop(entry_id)
        del self._entry_of_label[label]
        if self._pending is not None and self._pending.pop(label, None) is not None:
            return True
        index = self._scopes.get(entry.scope_id)
        if index is not None and label in index:
            index.remove(label)
            if len(index) == 0:
                del self._scopes[entry.scope_id]
        return True

    def _invalidate(self, invalidation: CacheInvalidation) -> None:
        self._invalidations.append(invalidation)
        doomed = [e.entry_id for e in self._entries.values() if invalidation.matches(e)]
        for entry_id in doomed:
            self._remove(entry_id)
        self.stats.invalidated += len(doomed)

    def expire(self, now: float) -> int:
        """Drop every entry past its TTL; returns how many. Lookups also skip them."""
        dropped = 0
        with self._lock:
            while self._expiry and self._expiry[0][0] <= now:
                _, label, entry_id = heapq.heappop(self._expiry)
                if self._label_of.get(entry_id) == label:  # not replaced since
                    self._remove(entry_id)
                    dropped += 1
            self.stats.expired += dropped
            self.stats.entries = len(self._entries)
            self.stats.scopes = len(self._scopes)
        return dropped

    # -- lookups --------------------------------------------------------------------

    def lookup(self, request: Request, embedding: np.ndarray | None, now: float) -> Hit | Miss:
        """Exact key first; with ``embedding`` (of :func:`question_text`) the semantic path too."""
        route = self.config.for_route(request.model)
        policy = cache_policy(request, route, cache_enabled=self.config.enabled)
        with self._lock:
            if not policy.may_lookup:
                self.stats.lookups += 1
                self.stats.bypassed += 1
                return Miss(policy.action.value)
            keys = request_keys(request, route)
            result = self._exact(keys, request, now)
            if result is None:
                if not route.semantic:
                    result = Miss("not_found")
                elif embedding is None:
                    result = Miss("no_embedding")
                else:
                    result = self._semantic(keys, request, embedding, now)
            self._count(result)
            return result

    def could_match_semantically(self, request: Request) -> bool:
        """Whether an embedding could find anything: the request's scope has entries.

        Lets the lookup stage skip the model (milliseconds of CPU) on cold scopes.
        """
        route = self.config.for_route(request.model)
        with self._lock:
            index = self._scopes.get(request_keys(request, route).scope_id)
            return index is not None and len(index) > 0

    def _count(self, result: Hit | Miss) -> None:
        if isinstance(result, Hit) and result.weighing is not None:
            return  # counted once settled
        if not (isinstance(result, Miss) and result.needs_embedding):
            self.stats.lookups += 1
        if isinstance(result, Hit):
            if result.kind == "exact":
                self.stats.exact_hits += 1
            else:
                self.stats.semantic_hits += 1
                self.stats.judged_hits += result.judged
            self.stats.cost_saved_usd += result.cost_saved
        elif result.reason != "no_embedding":  # the caller comes back with one
            self.stats.misses += 1
            self.stats.rejected_candidates += result.rejected

    def _usable(self, entry: CacheEntry, request: Request, now: float) -> bool:
        return entry.expires_at > now and fits_max_tokens(
            request.params.max_tokens, entry.max_tokens, entry.output_tokens, entry.finish_reason
        )

    def _exact(self, keys: CacheKeys, request: Request, now: float) -> Hit | None:
        entry = self._entries.get(keys.exact_key)
        if entry is None or not self._usable(entry, request, now):
            return None
        return Hit(entry, 1.0, "exact")

    def _semantic(self, keys: CacheKeys, request: Request, embedding: np.ndarray, now: float) -> Hit | Miss:
        route = self.config.for_route(request.model)
        index = self._scopes.get(keys.scope_id)
        if index is None:
            return Miss("empty_scope")
        neighbours = index.search(np.asarray(embedding, dtype=np.float32), route.candidates)
        best = neighbours[0][1] if neighbours else None
        rejections: list[str] = []
        question = None
        for label, similarity in neighbours:
            if similarity < route.similarity_threshold:
                break
            entry = self._entries[self._entry_of_label[label]]
            if entry.scope_id != keys.scope_id or not self._usable(entry, request, now):
                continue
            if route.verification == "strict":
                question = question or analyse(keys.prompt)
                verdict = verify(question, entry.prompt, max_extra_words=route.max_extra_words)
                if not verdict.ok:
                    if self._judged(route, verdict.reason, embedding, entry, label):
                        return Hit(entry, min(similarity, 1.0), "semantic", judged=True)
                    rejections.append(verdict.reason)
                    continue
                if verdict.added and route.added_words_max_gain is not None:
                    return Hit(entry, min(similarity, 1.0), "semantic", self._weighing(
                        verdict, keys.prompt, entry, label, embedding, similarity, route.added_words_max_gain
                    ))
            return Hit(entry, min(similarity, 1.0), "semantic")
        if rejections:
            return Miss("rejected", len(rejections), best, tuple(rejections))
        return Miss("below_threshold", 0, best)

    def _judged(
        self, route: RouteCacheConfig, reason: str, embedding: np.ndarray, entry: CacheEntry, label: int
    ) -> bool:
        if not route.judge or self._judge is None:
            return False
        stored = self._scopes[entry.scope_id].vector(label)
        return self._judge.admits(stored, np.asarray(embedding, dtype=np.float32), reason, route.judge_limit)

    def _weighing(
        self, verdict: Verdict, question: str, entry: CacheEntry, label: int, embedding: np.ndarray,
        similarity: float, limit: float,
    ) -> Weighing:
        if verdict.added_by == "query":
            text, other = without_words(question, verdict.added), self._scopes[entry.scope_id].vector(label)
        else:
            text, other = without_words(entry.prompt, verdict.added), np.asarray(embedding, dtype=np.float32)
        return Weighing(text, other, similarity, limit)

    def settle(self, hit: Hit, reduced: np.ndarray | None) -> Hit | Miss:
        """Serve or refuse a hit that waited for its added words to be weighed (``reduced``:
        the embedding of ``hit.weighing.text``, None if the model declined); counted here."""
        result = settle(hit, reduced)
        with self._lock:
            self._count(result)
        return result

    # -- views ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[CacheEntry]:
        """Live entries in arrival order (without embeddings)."""
        with self._lock:
            return list(self._entries.values())

    def scope_sizes(self) -> dict[str, int]:
        with self._lock:
            return {scope: len(index) for scope, index in self._scopes.items()}
