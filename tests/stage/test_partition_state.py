"""State rebuilt from Kafka must be exactly what was written (tansu's end offsets lie)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from tokenyard.agents.completed import CompletedRequests
from tokenyard.streams.partition_state import PartitionState

pytestmark = pytest.mark.broker


class Recorder:
    def __init__(self) -> None:
        self.items: list[tuple[bytes | None, bytes | None]] = []

    def apply(self, key, value) -> None:
        self.items.append((key, value))


async def test_rebuild_sees_every_record_written_before_it(broker) -> None:
    topic = f"state-{uuid.uuid4().hex[:8]}"
    writer = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=2, new_view=lambda p: Recorder())
    await writer.start()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    await producer.start()
    try:
        # many small batches, as a busy worker writes them: the newest batch is the
        # one a wrong end offset would cut off
        sent = []
        for i in range(5000):
            key, value = f"k{i}".encode(), f"v{i}".encode()
            sent.append((key, value))
            await producer.send(topic, value, key=key, partition=1)
        await producer.flush()
        for i in range(5000, 5003):
            await writer.append(1, f"k{i}".encode(), f"v{i}".encode())
            sent.append((f"k{i}".encode(), f"v{i}".encode()))

        reader = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=2, new_view=lambda p: Recorder())
        view = await reader.view(1)
        assert view.items == sent
        assert (await reader.view(0)).items == []
        # a second rebuild (new owner after a rebalance) sees the first's marker skipped
        reader.revoke({1})
        assert (await reader.view(1)).items == sent
        await reader.stop()
    finally:
        await producer.stop()
        await writer.stop()


async def test_appends_after_a_rebuild_update_the_local_view(broker) -> None:
    topic = f"state-{uuid.uuid4().hex[:8]}"
    state = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=1,
                           new_view=lambda p: CompletedRequests())
    try:
        view = await state.view(0)
        await state.append(0, b"r1", b'{"reply": 1}')
        assert view.reply_for("r1") == b'{"reply": 1}'
        fresh = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=1,
                               new_view=lambda p: CompletedRequests())
        assert (await fresh.view(0)).reply_for("r1") == b'{"reply": 1}'
        await fresh.stop()
    finally:
        await state.stop()


def test_completed_requests_forget_the_oldest_beyond_the_bound() -> None:
    view = CompletedRequests(max_entries=2)
    for i in range(3):
        view.apply(f"r{i}".encode(), b"x")
    assert view.reply_for("r0") is None and view.reply_for("r2") == b"x" and len(view) == 2


async def test_a_shared_producer_writes_the_records_and_markers(broker) -> None:
    """A worker's state goes out on its one producer; rebuilds still stop at their marker."""
    topic = f"state-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent_through: list[tuple[str, bytes | None]] = []

    async def send(topic_: str, key: bytes | None, value: bytes, partition: int):
        sent_through.append((topic_, key))
        return await producer.send_and_wait(topic_, value, key=key, partition=partition)

    state = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=1,
                           new_view=lambda p: Recorder(), send=send)
    try:
        view = await state.view(0)
        await state.append(0, b"k1", b"v1")
        await state.append(0, b"k2", b"v2")
        assert view.items == [(b"k1", b"v1"), (b"k2", b"v2")]
        # the rebuild marker and both records went through the shared send
        assert [key for _, key in sent_through][1:] == [b"k1", b"k2"] and len(sent_through) == 3
        fresh = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=1, new_view=lambda p: Recorder())
        assert (await fresh.view(0)).items == [(b"k1", b"v1"), (b"k2", b"v2")]
        await fresh.stop()
    finally:
        await state.stop()
        await producer.stop()


class Strict(Recorder):
    """A view that cannot read anything but b"v..." values."""

    def apply(self, key, value) -> None:
        if not value.startswith(b"v"):
            raise ValueError(f"unreadable {value!r}")
        super().apply(key, value)


async def test_a_record_no_view_can_read_is_skipped_in_rebuild_and_while_following(broker) -> None:
    topic = f"state-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    await producer.start()
    state = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=1, new_view=lambda p: Strict(),
                           follow=True, follow_wait_ms=50)
    try:
        for value in (b"v1", b"garbage", b"v2"):
            await producer.send_and_wait(topic, value, key=b"k", partition=0)
        view = await state.view(0)
        assert [v for _, v in view.items] == [b"v1", b"v2"] and state.skipped_records == {0: 1}
        # written by someone else after the rebuild: followed, the bad one skipped
        for value in (b"junk", b"v3"):
            await producer.send_and_wait(topic, value, key=b"k", partition=0)
        for _ in range(100):
            if len(view.items) == 3:
                break
            await asyncio.sleep(0.05)
        assert [v for _, v in view.items] == [b"v1", b"v2", b"v3"] and state.skipped_records == {0: 2}
    finally:
        await state.stop()
        await producer.stop()


class StrictInBatches(Strict):
    """A BatchView: the replay hands it whole batches and it says how many it could not read."""

    def resume(self):
        return None

    def discard_resumed(self) -> None:
        self.items.clear()

    def apply_replayed(self, records) -> int:
        good = [(k, v) for k, v in records if v is not None and v.startswith(b"v")]
        self.items.extend(good)
        return len(records) - len(good)

    def replay_done(self, last) -> None:
        pass


async def test_records_a_batch_view_cannot_read_are_counted_too(broker) -> None:
    topic = f"state-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    await producer.start()
    state = PartitionState(bootstrap=broker.bootstrap, topic=topic, partitions=1, new_view=lambda p: StrictInBatches())
    try:
        for value in (b"v1", b"garbage", b"v2", b"junk"):
            await producer.send_and_wait(topic, value, key=b"k", partition=0)
        view = await state.view(0)
        assert [v for _, v in view.items] == [b"v1", b"v2"] and state.skipped_records == {0: 2}
    finally:
        await state.stop()
        await producer.stop()
