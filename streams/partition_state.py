"""Per-partition state that is a view of a Kafka topic, rebuilt exactly.

A state topic has as many partitions as the requests topic and is written
partition-for-partition: state about a request read from requests partition
``p`` goes to state partition ``p``. The worker that owns ``p`` therefore owns
the state, and after a restart or rebalance the new owner rebuilds it by
replaying the partition.

How a rebuild knows it is complete: the broker's end offset cannot be trusted
(tansu's ``ListOffsets(latest)`` returns the start of the last batch + 1, so a
rebuild that stops there silently loses the newest updates; ENVIRONMENT.md).
Instead the rebuilder appends a *marker* record to the partition and replays
until it has read the marker's own offset, which the broker returned when it
acknowledged the write. Everything written before the marker is then applied,
on any broker. Markers are skipped by the views.

Views are plain objects with ``apply(key, value)``; this module owns only the
replay and the bookkeeping of which partitions are ready. A view with costly
state (the cache's vector indexes) can also be a :class:`BatchView`: the replay
hands it whole fetched batches on a worker thread, so the event loop (heartbeats,
other partitions) keeps running, tells it where the replay ended so it can finish
deferred work once, and lets it resume from a local copy of its state: the view
names the last record it holds (offset and digest), the replay checks that this
very record is still at that offset (same topic, not recreated, not compacted
away) and applies only what follows; on any mismatch the view starts empty and
the whole partition is replayed. The marker still ends the replay either way. With ``follow=True``
the owner also keeps reading its partitions after the rebuild, so records other
processes write (``tokenyard cache invalidate``) reach the view within about
``follow_wait_ms``; the owner's own records come back too, so views must apply
idempotently.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from aiokafka import AIOKafkaProducer, TopicPartition

from tokenyard.streams.broker import ensure_topics
from tokenyard.streams.kafka_security import PLAINTEXT, KafkaSecurity
from tokenyard.streams.offset_holes import GaplessConsumer

log = logging.getLogger(__name__)

MARKER_KEY = b"__tokenyard_rebuild_marker__"
PROGRESS_EVERY_S = 5.0


class View(Protocol):
    def apply(self, key: bytes | None, value: bytes | None) -> None: ...


@dataclass(frozen=True)
class Position:
    """One record of a partition: its offset and a digest of its key and value."""

    offset: int
    digest: str


def record_digest(key: bytes | None, value: bytes | None) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in (key, value):
        h.update(b"\x00" if part is None else b"\x01%d:" % len(part) + part)
    return h.hexdigest()


Records = list[tuple[bytes | None, bytes | None]]


@runtime_checkable
class BatchView(View, Protocol):
    """A view rebuilt in batches off the event loop, optionally resuming from a local copy.

    Every method but ``apply`` runs on a worker thread while the view is not yet
    served, so nothing else touches it meanwhile.
    """

    def resume(self) -> Position | None:
        """Load a local copy of the state; the last record it holds, or None to replay all."""

    def discard_resumed(self) -> None:
        """The resumed state does not match the topic: start empty."""

    def apply_replayed(self, records: Records) -> int:
        """Fold a batch of replayed records (markers already left out), in order.

        Returns how many of them it could not read (skipped; the view logs why)."""

    def replay_done(self, last: Position | None) -> None:
        """The replay reached the marker; ``last`` is the last record the view now holds."""


V = TypeVar("V", bound=View)

# (topic, key, value, partition) -> the broker's acknowledgement (with ``.offset``)
SendToPartition = Callable[[str, bytes | None, bytes, int], Awaitable[Any]]


class PartitionState(Generic[V]):
    """The views of one state topic for the partitions this worker owns."""

    def __init__(
        self,
        *,
        bootstrap: str,
        topic: str,
        partitions: int,
        new_view: Callable[[int], V],
        fetch_max_wait_ms: int = 10,
        follow: bool = False,
        follow_wait_ms: int = 250,
        security: KafkaSecurity = PLAINTEXT,
        send: SendToPartition | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        # A worker passes its one producer's send: replies, usage rows and state
        # records then share produce requests (fewer round trips for the broker).
        self._shared_send = send
        self._started = False
        self.security = security
        self.topic = topic
        self.partitions = partitions
        self.new_view = new_view
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._views: dict[int, V] = {}
        self._building: dict[int, asyncio.Task[V]] = {}
        self._producer: AIOKafkaProducer | None = None
        self.rebuilt_records: dict[int, int] = {}
        self.skipped_records: dict[int, int] = {}  # partition -> records no view could read
        self._starting = asyncio.Lock()
        self.follow = follow
        self.follow_wait_ms = follow_wait_ms
        self._follow_from: dict[int, int] = {}  # partition -> first offset after its rebuild
        self._follower: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, {self.topic: self.partitions}, self.security)
        if self._shared_send is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap, acks="all", linger_ms=1, **self.security.client_kwargs()
            )
            await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        for task in self._building.values():
            task.cancel()
        if self._follower:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        if self._producer:
            await self._producer.stop()
            self._producer = None
        self._started = False

    def revoke(self, partitions: set[int]) -> None:
        """Forget the state of partitions another worker now owns."""
        for p in partitions:
            self._views.pop(p, None)
            self._follow_from.pop(p, None)
            task = self._building.pop(p, None)
            if task:
                task.cancel()

    async def view(self, partition: int) -> V:
        """The partition's view, replaying the topic first if this worker has none."""
        ready = self._views.get(partition)
        if ready is not None:
            return ready
        if not self._started:
            async with self._starting:
                if not self._started:
                    await self.start()
        task = self._building.get(partition)
        if task is None:
            task = asyncio.ensure_future(self._rebuild(partition))
            self._building[partition] = task
        try:
            view = await asyncio.shield(task)
        finally:
            if task.done() and self._building.get(partition) is task:
                del self._building[partition]
        self._views[partition] = view
        return view

    async def append(self, partition: int, key: bytes | None, value: bytes) -> None:
        """Write one state record and apply it to the local view once it is durable."""
        await self._send(key, value, partition)
        view = self._views.get(partition)
        if view is not None:
            self._apply(view, partition, None, key, value)

    def _apply(self, view: V, partition: int, offset: int | None, key: bytes | None, value: bytes | None) -> None:
        """Apply one record; one the view cannot read is skipped and counted, never fatal.

        A state topic is internal, but a bad record (a bug, an older release, a
        hand-written one) must not stop every later update nor make the partition
        impossible to rebuild: the view stays what the readable records make it.
        """
        try:
            view.apply(key, value)
        except Exception as exc:
            self.skipped_records[partition] = self.skipped_records.get(partition, 0) + 1
            log.warning("%s[%d]: skipped a record it cannot read (offset %s): %s: %s",
                        self.topic, partition, offset, type(exc).__name__, exc)

    async def _send(self, key: bytes | None, value: bytes, partition: int) -> Any:
        assert self._started, "PartitionState not started"
        if self._shared_send is not None:
            return await self._shared_send(self.topic, key, value, partition)
        assert self._producer is not None
        return await self._producer.send_and_wait(self.topic, value, key=key, partition=partition)

    async def _rebuild(self, partition: int) -> V:
        view = self.new_view(partition)
        bulk = view if isinstance(view, BatchView) else None
        marker = await self._send(MARKER_KEY, uuid.uuid4().bytes, partition)
        tp = TopicPartition(self.topic, partition)
        consumer = GaplessConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
            # a resume offset that retention removed must not jump to the (wrong) end
            auto_offset_reset="earliest",
            **self.security.client_kwargs(),
        )
        await consumer.start()
        applied = 0
        started = time.monotonic()
        next_report = started + PROGRESS_EVERY_S
        try:
            resumed = await asyncio.to_thread(bulk.resume) if bulk is not None else None
            if bulk is not None and resumed is not None and resumed.offset >= marker.offset:
                resumed = await self._discard(bulk, partition, "it ends past the partition's end")
            consumer.assign([tp])
            if resumed is not None:
                consumer.seek(tp, resumed.offset)
            else:
                await consumer.seek_to_beginning(tp)
            checking = resumed is not None  # the first record fetched must be the resumed one
            last_record = None
            while True:
                batch = (await consumer.getmany(tp, timeout_ms=500, max_records=5000)).get(tp, [])
                if checking and batch:
                    checking = False
                    first = batch[0]
                    assert bulk is not None and resumed is not None
                    if first.offset != resumed.offset or record_digest(first.key, first.value) != resumed.digest:
                        resumed = await self._discard(bulk, partition, "its last record is not in the topic")
                        await consumer.seek_to_beginning(tp)
                        continue
                    batch = batch[1:]
                done = bool(batch) and batch[-1].offset >= marker.offset
                records = [r for r in batch if r.offset < marker.offset and r.key != MARKER_KEY]
                if records:
                    last_record = records[-1]
                    if bulk is not None:
                        skipped = await asyncio.to_thread(bulk.apply_replayed, [(r.key, r.value) for r in records])
                        if skipped:
                            self.skipped_records[partition] = self.skipped_records.get(partition, 0) + skipped
                    else:
                        for record in records:
                            self._apply(view, partition, record.offset, record.key, record.value)
                    applied += len(records)
                if done:
                    if bulk is not None:
                        last = resumed if last_record is None else Position(
                            last_record.offset, record_digest(last_record.key, last_record.value))
                        await asyncio.to_thread(bulk.replay_done, last)
                    self.rebuilt_records[partition] = applied
                    log.info("rebuilt %s[%d] from %d records%s in %.1fs", self.topic, partition, applied,
                             "" if resumed is None else f" after a local copy up to offset {resumed.offset}",
                             time.monotonic() - started)
                    if self.follow:
                        self._follow_from[partition] = marker.offset + 1
                        if self._follower is None or self._follower.done():
                            self._follower = asyncio.ensure_future(self._follow())
                    return view
                if time.monotonic() >= next_report:  # a long rebuild says how far it got
                    next_report += PROGRESS_EVERY_S
                    done_pct = 100.0 * (batch[-1].offset + 1) / (marker.offset + 1) if batch else 0.0
                    log.info("rebuilding %s[%d]: %d records applied, %.0f%% of the partition, %.0fs",
                             self.topic, partition, applied, done_pct, time.monotonic() - started)
        finally:
            await consumer.stop()

    async def _discard(self, view: BatchView, partition: int, why: str) -> None:
        log.warning("%s[%d]: ignoring the local copy of the state (%s); replaying the whole partition",
                    self.topic, partition, why)
        await asyncio.to_thread(view.discard_resumed)
        return None

    async def _follow(self) -> None:
        """Apply records written after each partition's rebuild, by anyone."""
        consumer = GaplessConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=self.follow_wait_ms,
            **self.security.client_kwargs(),
        )
        await consumer.start()
        following: dict[int, int] = {}
        try:
            while True:
                if following.keys() != self._follow_from.keys():
                    following = dict(self._follow_from)
                    tps = [TopicPartition(self.topic, p) for p in following]
                    consumer.assign(tps)
                    for tp in tps:
                        consumer.seek(tp, following[tp.partition])
                if not following:
                    await asyncio.sleep(self.follow_wait_ms / 1000)
                    continue
                batch = await consumer.getmany(timeout_ms=self.follow_wait_ms, max_records=5000)
                for tp, records in batch.items():
                    view = self._views.get(tp.partition)
                    if view is None or tp.partition not in self._follow_from:
                        continue
                    for record in records:
                        if record.key != MARKER_KEY:
                            self._apply(view, tp.partition, record.offset, record.key, record.value)
                    self._follow_from[tp.partition] = following[tp.partition] = records[-1].offset + 1
        finally:
            await consumer.stop()
