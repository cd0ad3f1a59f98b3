"""Cache shards rebuilt from a real broker: bulk, from a snapshot plus the tail, or past a bad snapshot."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer

from tests.unit.cache.test_rebuild import CONFIG, NOW, assert_same, mixed_stream, one_by_one
from tokenyard.agents.lookup import ShardView
from tokenyard.cache.snapshot import SnapshotStore
from tokenyard.streams.partition_state import MARKER_KEY, PartitionState

pytestmark = pytest.mark.broker


async def _produce(bootstrap: str, topic: str, records) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value, key=key, partition=1)
        await producer.flush()
    finally:
        await producer.stop()


async def _rebuild(bootstrap: str, topic: str, snapshots: SnapshotStore | None) -> tuple[ShardView, int]:
    state = PartitionState(bootstrap=bootstrap, topic=topic, partitions=2,
                           new_view=lambda p: ShardView(CONFIG, lambda: NOW, partition=p, snapshots=snapshots))
    try:
        view = await state.view(1)
        return view, state.rebuilt_records[1]
    finally:
        await state.stop()


def _data(records) -> int:
    """Records a rebuild counts: the stream's own rebuild markers are skipped."""
    return sum(key != MARKER_KEY for key, _ in records)


def _store(tmp_path, topic: str) -> SnapshotStore:
    return SnapshotStore(tmp_path, topic, model="MiniLMEmbedder", max_age_s=3600.0, clock=lambda: NOW)


async def test_snapshot_plus_tail_equals_a_full_replay(broker, tmp_path, caplog) -> None:
    topic = f"cache-{uuid.uuid4().hex[:8]}"
    log = mixed_stream(7)
    head, tail = log[:150], log[150:]
    await _produce(broker.bootstrap, topic, head)
    first, replayed = await _rebuild(broker.bootstrap, topic, _store(tmp_path, topic))
    assert replayed == _data(head)  # no snapshot yet: the whole partition
    await _produce(broker.bootstrap, topic, tail)

    resumed, replayed = await _rebuild(broker.bootstrap, topic, _store(tmp_path, topic))
    assert replayed == _data(tail)  # only what came after the snapshot (markers are not counted)
    full, replayed = await _rebuild(broker.bootstrap, topic, None)
    assert replayed == _data(log)
    # (assert_same ends by expiring entries: each rebuild is compared to a fresh reference)
    assert_same(resumed.shard, one_by_one(log).shard)
    assert_same(full.shard, one_by_one(log).shard)

    # the snapshot now names another incarnation of the topic: same name, other (more) records
    other, other_log = f"cache-{uuid.uuid4().hex[:8]}", mixed_stream(8) + mixed_stream(9)
    await _produce(broker.bootstrap, other, other_log)
    foreign, replayed = await _rebuild(broker.bootstrap, other, _store(tmp_path, topic))
    assert replayed == _data(other_log)
    assert "its last record is not in the topic" in caplog.text
    assert_same(foreign.shard, one_by_one(other_log).shard)


async def test_a_corrupt_snapshot_falls_back_to_a_full_replay(broker, tmp_path, caplog) -> None:
    topic = f"cache-{uuid.uuid4().hex[:8]}"
    log = mixed_stream(9)
    await _produce(broker.bootstrap, topic, log)
    await _rebuild(broker.bootstrap, topic, _store(tmp_path, topic))
    home = tmp_path / "cache-snapshots" / topic / "p1"
    entries = home / (home / "current").read_text() / "entries.json"
    entries.write_bytes(entries.read_bytes().replace(b"answer", b"ANSWER", 1))
    rebuilt, replayed = await _rebuild(broker.bootstrap, topic, _store(tmp_path, topic))
    assert replayed == _data(log) and "does not match its checksum" in caplog.text
    assert_same(rebuilt.shard, one_by_one(log).shard)
