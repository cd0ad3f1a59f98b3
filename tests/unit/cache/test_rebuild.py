"""A shard rebuilt in bulk, or from a snapshot plus the tail, equals the one folded record by record."""

from __future__ import annotations

import random
import zlib

import numpy as np
import pytest

from tokenyard.agents.lookup import ShardView
from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.embedding import HashingEmbedder
from tokenyard.cache.entry import (
    CacheInvalidation,
    CacheTombstone,
    decode_record,
    decode_values,
    encode_record,
)
from tokenyard.cache.results import Hit, Miss
from tokenyard.cache.shard import CacheShard
from tokenyard.cache.storing import question_text
from tokenyard.cache.snapshot import SnapshotStore
from tokenyard.errors import MalformedEvent
from tokenyard.streams.partition_state import MARKER_KEY, Position, record_digest

from .conftest import entry_for, make_request

NOW = 10_000.0
TEXTS = [f"how do I {verb} the {thing} in {place}" for verb in ("reset", "configure", "delete", "rename")
         for thing in ("router", "printer", "account") for place in ("Paris", "Oslo", "Lima")]
CONFIG = CacheConfig(capacity_per_shard=60, brute_force_below=12,
                     default_route=RouteCacheConfig(ttl_s=500.0, similarity_threshold=0.3))


def embed(text: str) -> np.ndarray:
    """Hashing embedding plus a little noise of its own: similar texts stay close, no ties."""
    noise = np.random.default_rng(zlib.crc32(text.encode()))
    vector = HashingEmbedder().embed([text])[0] + 0.05 * noise.standard_normal(384).astype(np.float32)
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def mixed_stream(seed: int) -> list[tuple[bytes | None, bytes | None]]:
    """Stores (some replacing, some stale redeliveries, some short-lived), tombstones,
    invalidations, markers and null values, enough to evict and to fill an hnsw scope."""
    rng = random.Random(seed)
    log: list[tuple[bytes | None, bytes | None]] = []
    written = []
    t = NOW - 400
    for _ in range(220):
        t += rng.uniform(0.1, 2.0)
        roll = rng.random()
        if roll < 0.75 or not written:
            text = rng.choice(TEXTS) + (f" v{rng.randrange(40)}" if rng.random() < 0.8 else "")
            tenant = rng.choice(["a", "a", "a", "b", "c"])
            request = make_request(text, tenant=tenant, route=rng.choice(["chat", "chat", "faq"]))
            created = t - (300 if rng.random() < 0.05 else 0)  # a late redelivery of an older answer
            entry = entry_for(request, CONFIG, embed(question_text(request, CONFIG)), created,
                              content=f"answer {len(log)}")
            if rng.random() < 0.1:  # expired by the time of the rebuild
                entry = type(entry)(**{**{f: getattr(entry, f) for f in entry.__slots__}, "expires_at": NOW - 1})
            written.append(entry)
            log.append((entry.entry_id.encode(), encode_record(entry)))
        elif roll < 0.87:
            victim = rng.choice(written).entry_id
            log.append((victim.encode(), encode_record(CacheTombstone(victim))))
        elif roll < 0.93:
            tenant, route = rng.choice([("b", None), ("c", None), (None, "faq"), ("a", "faq")])
            inv = CacheInvalidation(at=t - rng.uniform(0, 60), tenant=tenant, route=route)
            log.append((b"invalidation", encode_record(inv)))
        elif roll < 0.97:
            log.append((MARKER_KEY, rng.randbytes(16)))
        else:
            log.append((b"nothing", None))
    return log


def one_by_one(log) -> ShardView:
    view = ShardView(CONFIG, lambda: NOW)
    for key, value in log:
        view.apply(key, value)
    return view


def in_batches(log, view: ShardView, seed: int) -> ShardView:
    rng = random.Random(seed)
    resumed = view.resume()
    start = 0 if resumed is None else resumed.offset + 1
    i = start
    while i < len(log):
        size = rng.randint(1, 40)
        view.apply_replayed(log[i:i + size])
        i += size
    view.replay_done(Position(len(log) - 1, record_digest(*log[-1])))
    return view


def outcome(result: Hit | Miss) -> tuple:
    """A lookup's result; candidates of equal similarity may be verified in another order."""
    if isinstance(result, Hit):
        return ("hit", result.entry, round(result.similarity, 5))
    best = None if result.best_similarity is None else round(result.best_similarity, 5)
    return (result.reason, result.rejected, best, sorted(result.rejections))


def assert_same(rebuilt: CacheShard, reference: CacheShard) -> None:
    """Same entries, scopes, counters and lookups; then both expire alike (which changes them)."""
    assert rebuilt.entries() == reference.entries()
    assert rebuilt.scope_sizes() == reference.scope_sizes()
    assert (rebuilt.stats.entries, rebuilt.stats.scopes, rebuilt.stats.evicted, rebuilt.stats.invalidated) == (
        reference.stats.entries, reference.stats.scopes, reference.stats.evicted, reference.stats.invalidated)
    for text in TEXTS[:12] + [t + " v3" for t in TEXTS[:12]]:
        for tenant in ("a", "b"):
            request = make_request(text, tenant=tenant)
            vector = embed(question_text(request, CONFIG))
            assert rebuilt.lookup(request, None, NOW + 1) == reference.lookup(request, None, NOW + 1)
            assert outcome(rebuilt.lookup(request, vector, NOW + 1)) == outcome(reference.lookup(request, vector, NOW + 1))
    assert rebuilt.expire(NOW + 200) == reference.expire(NOW + 200)
    assert rebuilt.entries() == reference.entries()


@pytest.mark.parametrize("seed", range(6))
def test_bulk_rebuild_equals_record_by_record(seed):
    log = mixed_stream(seed)
    reference = one_by_one(log).shard
    assert reference.stats.evicted > 0 and reference.stats.invalidated > 0
    assert any(kind == "hnsw" for kind in (i.kind for i in reference._scopes.values()))  # noqa: SLF001
    assert_same(in_batches(log, ShardView(CONFIG, lambda: NOW), seed).shard, reference)


def test_decode_values_matches_decode_record():
    log = [value for _, value in mixed_stream(1) if value is not None and _ != MARKER_KEY]
    short = entry_for(make_request("odd vector"), CONFIG, np.ones(8, np.float32) / np.sqrt(8), NOW)
    log.append(encode_record(short))  # another size: decoded apart, rejected by the shard later
    for (record, vector), value in zip(decode_values(log, 384), log, strict=True):
        expected = decode_record(value)
        assert record == expected
        got = vector if vector is not None else getattr(record, "embedding", None)
        want = getattr(expected, "embedding", None)
        assert (got is None and want is None) or np.array_equal(got, want)
    with pytest.raises(MalformedEvent, match="not JSON"):
        decode_values([log[0], b"{nope"], 384)
    bad = log[0].replace(b'"embedding_f32_b64":"', b'"embedding_f32_b64":"*')
    with pytest.raises(MalformedEvent, match="bad value"):
        decode_values([bad], 384)


def store(tmp_path, **kw) -> SnapshotStore:
    return SnapshotStore(tmp_path, "tokenyard.cache", **{"model": "MiniLMEmbedder", "max_age_s": 3600.0,
                                                        "clock": lambda: NOW, **kw})


@pytest.mark.parametrize("seed", range(3))
def test_snapshot_plus_tail_equals_full_rebuild(tmp_path, seed):
    log = mixed_stream(seed)
    cut = len(log) // 2 + seed * 20
    while log[cut][0] == MARKER_KEY:  # the snapshot's last record is a record the view held
        cut += 1
    first = in_batches(log[:cut + 1], ShardView(CONFIG, lambda: NOW, partition=3, snapshots=store(tmp_path)), seed)
    assert (tmp_path / "cache-snapshots" / "tokenyard.cache" / "p3" / "current").exists()
    resumed = ShardView(CONFIG, lambda: NOW, partition=3, snapshots=store(tmp_path))
    assert resumed.resume() == Position(cut, record_digest(*log[cut]))
    assert_same(resumed.shard, first.shard)  # the snapshot alone is the shard that wrote it
    tail = in_batches(log, ShardView(CONFIG, lambda: NOW, partition=3, snapshots=store(tmp_path)), seed)
    assert_same(tail.shard, one_by_one(log).shard)


def _written(tmp_path) -> tuple[list, object]:
    log = mixed_stream(4)
    in_batches(log, ShardView(CONFIG, lambda: NOW, partition=0, snapshots=store(tmp_path)), 4)
    home = tmp_path / "cache-snapshots" / "tokenyard.cache" / "p0"
    return log, home / (home / "current").read_text()


@pytest.mark.parametrize("damage", ["entries", "graph", "meta", "missing"])
def test_a_damaged_snapshot_is_ignored(tmp_path, caplog, damage):
    _, path = _written(tmp_path)
    graph = next(path.glob("*.hnsw"))
    if damage == "entries":
        (path / "entries.json").write_bytes((path / "entries.json").read_bytes()[:-10])
    elif damage == "graph":
        data = bytearray(graph.read_bytes())
        data[len(data) // 2] ^= 0xFF
        graph.write_bytes(bytes(data))
    elif damage == "meta":
        (path / "meta.json").write_bytes(b"{not json")
    else:
        graph.unlink()
    view = ShardView(CONFIG, lambda: NOW, partition=0, snapshots=store(tmp_path))
    assert view.resume() is None and len(view.shard) == 0
    assert "ignored" in caplog.text


@pytest.mark.parametrize(
    ("view_kw", "store_kw", "reason"),
    [
        ({"partition": 1}, {}, "partition"),  # no snapshot of p1: silently none
        ({"config": CacheConfig(capacity_per_shard=61, brute_force_below=12)}, {}, "fold"),
        ({}, {"model": "OtherEmbedder"}, "fold"),
        ({}, {"clock": lambda: NOW + 7200}, "old"),
        ({}, {"topic": "other.cache"}, "partition"),
    ],
)
def test_a_foreign_or_stale_snapshot_is_ignored(tmp_path, caplog, view_kw, store_kw, reason):
    _written(tmp_path)
    topic = store_kw.pop("topic", "tokenyard.cache")
    snapshots = SnapshotStore(tmp_path, topic, **{"model": "MiniLMEmbedder", "max_age_s": 3600.0,
                                                 "clock": lambda: NOW, **store_kw})
    view = ShardView(view_kw.get("config", CONFIG), lambda: NOW, partition=view_kw.get("partition", 0),
                     snapshots=snapshots)
    assert view.resume() is None
    if reason in ("fold", "old"):
        assert reason in caplog.text


def test_a_new_snapshot_replaces_the_old_one(tmp_path):
    log, first = _written(tmp_path)
    view = ShardView(CONFIG, lambda: NOW, partition=0, snapshots=store(tmp_path))
    assert view.resume() is not None
    view.apply_replayed([(b"k", encode_record(CacheTombstone(view.shard.entries()[0].entry_id)))])
    view.replay_done(Position(len(log), "d"))
    home = first.parent
    assert not first.exists()
    assert sorted(p.name for p in home.iterdir()) == sorted(["current", (home / "current").read_text()])


@pytest.mark.parametrize("seed", range(3))
def test_unreadable_records_are_skipped_and_the_rest_rebuilt(seed):
    """Garbage or a vector of another size in the topic costs that record, never the rebuild."""
    clean = mixed_stream(seed)
    short = entry_for(make_request("odd vector"), CONFIG, np.ones(8, np.float32) / np.sqrt(8), NOW)
    garbage = [(b"x", b"not json"), (b"x", b"[1, 2]"), (b"x", b'{"type": "nope"}'), (b"x", b"\xff\xfe"),
               (short.entry_id.encode(), encode_record(short))]
    rng = random.Random(seed)
    dirty = list(clean)
    for bad in garbage:
        dirty.insert(rng.randrange(len(dirty)), bad)
    view = ShardView(CONFIG, lambda: NOW)
    view.resume()
    skipped = sum(view.apply_replayed(dirty[i:i + 17]) for i in range(0, len(dirty), 17))
    view.replay_done(Position(len(dirty) - 1, record_digest(*dirty[-1])))
    assert skipped == len(garbage)
    assert_same(view.shard, one_by_one(clean).shard)
