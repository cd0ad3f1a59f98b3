"""Against the real broker: a record a fetch left out is fetched again, in order."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from tokenyard.streams.broker import ensure_topics
from tokenyard.streams.offset_holes import GaplessConsumer

pytestmark = pytest.mark.broker


def hide_once(consumer: GaplessConsumer, offset: int) -> list[int]:
    """Make the fetcher leave ``offset`` out of the first result holding it, as tansu
    does when a concurrent write becomes visible after a later one."""
    fetcher = consumer._fetcher
    real = fetcher.fetched_records
    hidden: list[int] = []

    async def fetched_records(*args, **kwargs):
        got = await real(*args, **kwargs)
        for tp, records in got.items():
            if not hidden and any(r.offset == offset for r in records):
                hidden.append(offset)
                got[tp] = [r for r in records if r.offset != offset]
        return got

    fetcher.fetched_records = fetched_records
    return hidden


async def test_a_record_left_out_of_a_fetch_is_read_again_before_later_ones(broker) -> None:
    topic = f"holes-{uuid.uuid4().hex[:8]}"
    await ensure_topics(broker.bootstrap, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(20):
            await producer.send_and_wait(topic, f"v{i}".encode(), partition=0)
    finally:
        await producer.stop()
    consumer = GaplessConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        hidden = hide_once(consumer, 7)
        seen: list[int] = []
        while len(seen) < 20:
            batch = await consumer.getmany(timeout_ms=500)
            seen.extend(r.offset for r in batch.get(tp, []))
        assert hidden == [7]
        assert seen == list(range(20))
        assert consumer.hole_watch.refetches == 1 and consumer.hole_watch.accepted == 0
    finally:
        await consumer.stop()
