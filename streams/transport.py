"""Faust's aiokafka transport with the consumer fetch wait under our control,
and fetches screened for records the broker showed out of order.

Faust hard-codes ``fetch_max_wait_ms=1500`` for worker consumers. On a broker
that does not end a long-poll when data arrives (tansu, see ENVIRONMENT.md) that
makes every hop cost up to 1.5 s, so the worker consumer is built by Faust as
usual and then given the configured wait before it starts.

Faust drops a record whose offset is below one it already read, so a record
tansu shows late would never reach an agent: each fetch goes through
:mod:`tokenyard.streams.offset_holes` first.

The producer tracks the app's own topics from the start (:func:`pin_topics`).
aiokafka's producer first learns every topic from an all-topics metadata
request; the first send to a topic created later narrows its metadata to the
topics it tracks, and a batch already waiting for a topic known only from that
first answer then has no leader and waits for its expiry, 20 minutes under
Faust, holding every later send to that partition (seen: a worker whose state
markers never left, so its partitions were never answered).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

from tokenyard.streams.offset_holes import HoleWatch, without_holes


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka passes this to its Fetcher in start(), which runs after us.
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        self.hole_watch = HoleWatch()
        return consumer

    async def _fetch_records(
        self, consumer: aiokafka.AIOKafkaConsumer, active_partitions: Any, timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        fetch = super()._fetch_records(consumer, active_partitions, timeout=timeout, max_records=max_records)
        return await without_holes(self.hole_watch, consumer._fetcher, fetch)


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


async def pin_topics(producer: aiokafka.AIOKafkaProducer, topics: Iterable[str]) -> None:
    """Make ``producer`` keep metadata for those of ``topics`` that exist, however its
    topic list grows.

    Only existing ones: a metadata request naming a missing topic creates it on a
    broker that auto-creates (tansu does, with 4 partitions), and a topic that must
    have one partition (the quota grants) would then have four. A topic created
    later is tracked from its first send anyway.
    """
    client = producer.client
    existing = {t for t in topics if t in client.cluster.topics()}
    if existing - client._topics:
        await client.set_topics(sorted({*client._topics, *existing}))


class _Producer(faust_aiokafka.Producer):
    async def on_start(self) -> None:
        await super().on_start()
        await pin_topics(self._ensure_producer(), getattr(self.app, "producer_topics", ()))


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type] = _Consumer
    Producer: ClassVar[type] = _Producer
