"""The lookup stage: answer from the semantic cache before anything costs money.

Each owned partition has a :class:`~tokenyard.cache.CacheShard`, a view of the
cache topic's partition with the same number (co-partitioned with requests), so
no worker ever serves a shard it does not own. Lookups try the exact key first;
only a miss that could be a paraphrase pays for an embedding, and concurrent
requests share embedding batches (:class:`EmbeddingBatcher`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from tokenyard.admission.bucket import Bucket, admit
from tokenyard.cache import CacheConfig, CacheShard, Embedder, Hit, Miss, decode_record, encode_record, new_entry
from tokenyard.cache.embedding import DIMENSION, MAX_BATCH
from tokenyard.cache.entry import CacheRecord, decode_values
from tokenyard.cache.storing import question_text
from tokenyard.cache.snapshot import SnapshotStore
from tokenyard.errors import MalformedEvent
from tokenyard.providers.base import Completion
from tokenyard.schemas.records import Request
from tokenyard.streams.partition_state import MARKER_KEY, PartitionState, Position, Records

log = logging.getLogger(__name__)

RunBlocking = Callable[[Callable[[], Any]], Any]


class ShardView:
    """Adapts a CacheShard to PartitionState: ``apply`` live, batches while rebuilding.

    A rebuild decodes each fetched batch at once (vectors in one base64 call), folds
    it without touching the index, and builds each scope's index once at the marker
    from the entries still alive, in ``rebuild_threads`` threads. With ``snapshots``
    it starts from the partition's local snapshot and writes a new one when done.
    """

    def __init__(
        self, config: CacheConfig, clock: Callable[[], float], *, partition: int = 0,
        snapshots: SnapshotStore | None = None, dimension: int = DIMENSION,
    ) -> None:
        self.config = config
        self.clock = clock
        self.partition = partition
        self.snapshots = snapshots
        self.dimension = dimension
        self.shard = CacheShard(config, dimension)
        self._resumed: Position | None = None

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key == MARKER_KEY or value is None:
            return
        self.shard.apply(decode_record(value), self.clock())

    # -- BatchView: the rebuild, on a worker thread before the shard is served ----------

    def resume(self) -> Position | None:
        snapshot = self.snapshots.load(self.partition, self.config, self.dimension) if self.snapshots else None
        if snapshot is not None:
            self.shard = snapshot.shard
            self._resumed = Position(snapshot.offset, snapshot.digest)
        self.shard.begin_replay()
        return self._resumed

    def discard_resumed(self) -> None:
        self.shard, self._resumed = CacheShard(self.config, self.dimension), None
        self.shard.begin_replay()

    def apply_replayed(self, records: Records) -> int:
        self.shard.begin_replay()  # no-op after resume()
        values = [value for key, value in records if value is not None and key != MARKER_KEY]
        try:
            decoded = decode_values(values, self.dimension)
        except MalformedEvent:  # some record is unreadable: decode one by one, skip those
            decoded = [item for item in map(self._decode_or_skip, values) if item is not None]
        return len(values) - self.shard.apply_replayed(decoded, self.clock())

    def _decode_or_skip(self, value: bytes) -> tuple[CacheRecord, None] | None:
        try:
            return decode_record(value), None
        except MalformedEvent as exc:
            log.warning("cache rebuild of partition %d skipped a record: %s", self.partition, exc.message)
            return None

    def replay_done(self, last: Position | None) -> None:
        self.shard.end_replay(self.config.rebuild_threads)
        if self.snapshots is not None and last is not None and last != self._resumed:
            try:
                self.snapshots.save(self.shard, self.partition, last.offset, last.digest)
            except OSError as exc:  # a snapshot only saves time: serve without one
                log.warning("cache snapshot of partition %d not written: %s", self.partition, exc)


class EmbeddingBatcher:
    """Collects texts from concurrent lookups and embeds them in batches off the loop.

    The model costs milliseconds of CPU per text, far more than the rest of a
    request: when more than ``max_pending`` texts wait, or more than
    ``max_per_s`` texts a second were asked for, :meth:`embed` declines (returns
    None) and the caller goes on without the semantic path, so an overloaded
    worker degrades to exact-match caching instead of queueing every request
    behind the model.
    """

    def __init__(
        self, embedder: Embedder, run_blocking: RunBlocking, max_batch: int = MAX_BATCH, max_pending: int = 16,
        max_per_s: float | None = None, clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.embedder = embedder
        self.run_blocking = run_blocking
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.clock = clock
        # a second's worth of burst, refilled at the budget
        self._budget = None if max_per_s is None else Bucket.full(max(1.0, max_per_s), max_per_s, clock())
        self._queue: list[tuple[str, asyncio.Future[np.ndarray]]] = []
        self._in_flight = 0
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0
        self.declined = 0

    async def embed(self, text: str) -> np.ndarray | None:
        if len(self._queue) + self._in_flight >= self.max_pending:
            self.declined += 1
            return None
        if self._budget is not None:
            self._budget, decision = admit(self._budget, 1.0, self.clock())
            if not decision.admitted:
                self.declined += 1
                return None
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._queue.append((text, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            texts = [text for text, _ in batch]
            self._in_flight = len(batch)
            try:
                vectors = await self.run_blocking(lambda: self.embedder.embed(texts))
            except Exception as exc:  # hand the failure to every waiting lookup
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                self._in_flight = 0
            self.batches += 1
            for (_, future), vector in zip(batch, vectors, strict=True):
                if not future.done():
                    future.set_result(vector)


@dataclass(frozen=True)
class Lookup:
    """What the lookup stage found, and the embedding to reuse when storing."""

    result: Hit | Miss
    embedding: np.ndarray | None = None


class CacheStage:
    def __init__(
        self,
        *,
        config: CacheConfig,
        shards: PartitionState[ShardView],
        embeddings: EmbeddingBatcher | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.shards = shards
        self.embeddings = embeddings
        self.clock = clock

    async def lookup(self, request: Request, partition: int) -> Lookup:
        shard = (await self.shards.view(partition)).shard
        now = self.clock()
        result = shard.lookup(request, None, now)
        if not (isinstance(result, Miss) and result.needs_embedding and self.embeddings is not None):
            return Lookup(result)
        if not shard.could_match_semantically(request):
            return Lookup(Miss("empty_scope"))
        embedding = await self.embeddings.embed(question_text(request, self.config))
        if embedding is None:  # the model is saturated: exact-only for this request
            return Lookup(Miss("embedding_declined"))
        result = shard.lookup(request, embedding, self.clock())
        if isinstance(result, Hit) and result.weighing is not None:
            # words only one side has: the model weighs them before the hit is served
            result = shard.settle(result, await self.embeddings.embed(result.weighing.text))
        return Lookup(result, embedding)

    async def store(
        self, request: Request, partition: int, completion: Completion, cost: Decimal | None, found: Lookup
    ) -> None:
        embedding = found.embedding
        if embedding is None and self.embeddings is not None and self.config.for_route(request.model).semantic:
            # None when the model is saturated: the entry still serves exact hits
            embedding = await self.embeddings.embed(question_text(request, self.config))
        entry = new_entry(
            request, self.config, content=completion.content, finish_reason=completion.finish_reason,
            provider=completion.provider, provider_model=completion.model, usage=completion.usage,
            cost_usd=cost, embedding=embedding, now=self.clock(),
        )
        if entry is not None:
            # Keyed by entry: a compacted topic keeps the newest answer per question
            # (keyed by tenant it would keep one entry per tenant). The partition is
            # set explicitly, so the entry stays with its requests' partition.
            await self.shards.append(partition, entry.entry_id.encode(), encode_record(entry))
