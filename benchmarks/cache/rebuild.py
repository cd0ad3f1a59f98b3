"""Cache shard rebuild from the topic: record by record (before) vs bulk vs snapshot + tail.

    .venv/bin/python -m benchmarks.cache.rebuild [--entries 100000] [--tail 1000] [--skip-before]

Starts a fresh local broker, writes ``--entries`` cache entries (384-d vectors, one
scope: the worst case, the whole partition in one hnswlib graph) into one partition
of a cache topic, then rebuilds that partition's shard through ``PartitionState``
as a worker does after a restart, one way after another on the same topic:

1. **record by record**: the fold as it was before bulk rebuilds, ``CacheShard.apply``
   per record on the event loop, each vector inserted into hnswlib on its own;
2. **bulk, full replay**: ``ShardView`` (batches decoded at once on a worker thread,
   each scope's graph built once at the marker in ``cache.rebuild_threads`` threads),
   writing a snapshot at the end;
3. ``--tail`` more entries are written, then **snapshot + tail**: the same, starting
   from the snapshot and replaying only the tail.

Per way: wall seconds to a served shard, process CPU seconds (hnswlib's threads
included), the longest event-loop stall (a worker's heartbeats and other partitions
wait that long), and for the bulk ways where the time went. Vectors are random
cluster members (2,000 random centres, per-vector noise as in the cache speed bench)
rather than MiniLM output: a graph's build cost depends on dimension and clustering,
not on what the text was. The machine's load average is printed beside the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import orjson
from aiokafka import AIOKafkaProducer

from tokenyard.agents.lookup import ShardView
from tokenyard.cache.config import CacheConfig
from tokenyard.cache.entry import CacheEntry, decode_record, encode_record
from tokenyard.cache.shard import CacheShard
from tokenyard.cache.snapshot import SnapshotStore
from tokenyard.streams.broker import LocalBroker, ensure_topics
from tokenyard.streams.partition_state import PartitionState, Position, Records

NOW = time.time()
RESULTS = Path(__file__).resolve().parents[1] / "results"


def entries(start: int, count: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed + start)
    centres = np.random.default_rng(seed).standard_normal((2000, 384)).astype(np.float32)
    vectors = centres[(start + np.arange(count)) % 2000] + rng.standard_normal((count, 384)).astype(np.float32) * \
        rng.uniform(0.015, 0.04, (count, 1)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    out = []
    for i, vector in zip(range(start, start + count), vectors, strict=True):
        out.append(encode_record(CacheEntry(
            entry_id=hashlib.blake2b(str(i).encode(), digest_size=16).hexdigest(), tenant="bench", route="bench",
            scope_id="bench-scope", scope_tenant="bench", prompt=f"bench question number {i} about topic {i % 2000}",
            content=f"answer {i} " + "lorem ipsum dolor sit amet " * 12, finish_reason="stop", provider="bench",
            provider_model="bench", input_tokens=20, output_tokens=80, cost_usd=Decimal("0.0004"), max_tokens=None,
            created_at=NOW, expires_at=NOW + 86_400, request_id=f"bench-{i}", embedding=vector)))
    return out


class PerRecordView:
    """The cache view as it was before bulk rebuilds: one record at a time, on the loop."""

    def __init__(self, config: CacheConfig) -> None:
        self.shard = CacheShard(config)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is not None:
            self.shard.apply(decode_record(value), time.time())


class TimedShardView(ShardView):
    """ShardView adding up where a rebuild's thread time goes."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.phases = {"load_snapshot": 0.0, "decode_and_fold": 0.0, "build_index": 0.0, "write_snapshot": 0.0}

    def resume(self) -> Position | None:
        started = time.perf_counter()
        try:
            return super().resume()
        finally:
            self.phases["load_snapshot"] += time.perf_counter() - started

    def apply_replayed(self, records: Records) -> int:
        started = time.perf_counter()
        try:
            return super().apply_replayed(records)
        finally:
            self.phases["decode_and_fold"] += time.perf_counter() - started

    def replay_done(self, last: Position | None) -> None:
        started = time.perf_counter()
        self.shard.end_replay(self.config.rebuild_threads)
        built = time.perf_counter()
        self.phases["build_index"] += built - started
        super().replay_done(last)  # the index is built: this only writes the snapshot
        self.phases["write_snapshot"] += time.perf_counter() - built


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20,
                                max_request_size=8 << 20, acks=1)
    await producer.start()
    started = time.perf_counter()
    try:
        for value in values:
            await producer.send(topic, value, key=orjson.loads(value)["entry_id"].encode(), partition=0)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def rebuild(bootstrap: str, topic: str, new_view) -> tuple[dict[str, object], object]:  # type: ignore[no-untyped-def]
    state = PartitionState(bootstrap=bootstrap, topic=topic, partitions=1, new_view=new_view)
    stall = 0.0

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            stall, last = max(stall, now - last - 0.01), now

    ticking = asyncio.ensure_future(ticker())
    cpu, started = time.process_time(), time.perf_counter()
    try:
        view = await state.view(0)
        wall = time.perf_counter() - started
    finally:
        ticking.cancel()
        await state.stop()
    result: dict[str, object] = {
        "records": state.rebuilt_records[0], "entries": len(view.shard), "wall_s": round(wall, 2),
        "cpu_s": round(time.process_time() - cpu, 2), "longest_loop_stall_s": round(stall, 3)}
    if isinstance(view, TimedShardView):
        result["thread_s"] = {k: round(v, 2) for k, v in view.phases.items()}
    return result, view


async def main(args: argparse.Namespace) -> dict[str, object]:
    config = CacheConfig(rebuild_threads=args.threads)
    print(f"generating {args.entries:,} + {args.tail:,} entries ...", flush=True)
    head, tail = entries(0, args.entries), entries(args.entries, args.tail)
    out: dict[str, object] = {"entries": args.entries, "tail": args.tail, "rebuild_threads": args.threads,
                              "record_bytes": round(sum(map(len, head)) / len(head)),
                              "hnsw": {"m": config.hnsw_m, "ef_construction": config.hnsw_ef_construction},
                              "cpus": os.cpu_count(), "load_before": round(os.getloadavg()[0], 2)}
    with LocalBroker() as broker, tempfile.TemporaryDirectory(prefix="rebuild-bench-") as data_dir:
        topic = "bench.cache"
        await ensure_topics(broker.bootstrap, {topic: 1})
        out["produce_s"] = round(await produce(broker.bootstrap, topic, head), 1)
        snapshots = SnapshotStore(Path(data_dir), topic, model="bench", max_age_s=3600.0)
        ways: dict[str, object] = {}
        if not args.skip_before:
            print("record by record (before) ...", flush=True)
            ways["record_by_record"], _ = await rebuild(broker.bootstrap, topic, lambda p: PerRecordView(config))
        print("bulk, full replay ...", flush=True)
        ways["bulk_full_replay"], full = await rebuild(
            broker.bootstrap, topic, lambda p: TimedShardView(config, time.time, partition=p, snapshots=snapshots))
        await produce(broker.bootstrap, topic, tail)
        print(f"snapshot + {args.tail:,}-record tail ...", flush=True)
        ways["snapshot_plus_tail"], resumed = await rebuild(
            broker.bootstrap, topic, lambda p: TimedShardView(config, time.time, partition=p, snapshots=snapshots))
        # the resumed shard must be the full one plus the tail, in order
        got = resumed.shard.entries()
        assert got[: len(head)] == full.shard.entries() and len(got) == len(head) + len(tail), "rebuilds disagree"
        snap = next((Path(data_dir) / "cache-snapshots" / topic / "p0").glob("snap-*"))
        out["snapshot_bytes"] = sum(f.stat().st_size for f in snap.iterdir())
        out["ways"] = ways
    out["load_after"] = round(os.getloadavg()[0], 2)
    return out


def report(out: dict[str, object]) -> None:
    print(f"\ncache rebuild of {out['entries']:,} entries (one scope, hnswlib M={out['hnsw']['m']} "  # type: ignore[index]
          f"ef_construction={out['hnsw']['ef_construction']}, {out['rebuild_threads']} build threads), "  # type: ignore[index]
          f"load {out['load_before']} -> {out['load_after']} on {out['cpus']} CPUs")
    print(f"{'way':<22}{'records':>9}{'wall s':>9}{'per 100k':>10}{'cpu s':>8}{'stall s':>9}  thread time")
    for name, way in out["ways"].items():  # type: ignore[attr-defined]
        per_100k = way["wall_s"] * 100_000 / out["entries"]  # type: ignore[operator]
        phases = " ".join(f"{k}={v}" for k, v in way.get("thread_s", {}).items() if v)
        print(f"{name:<22}{way['records']:>9}{way['wall_s']:>9}{per_100k:>10.1f}{way['cpu_s']:>8}"
              f"{way['longest_loop_stall_s']:>9}  {phases}")
    print(f"record {out['record_bytes']} B, snapshot {out['snapshot_bytes'] / 1e6:.0f} MB, "  # type: ignore[operator]
          f"producing the topic took {out['produce_s']} s (not part of any rebuild)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--tail", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=2, help="cache.rebuild_threads")
    parser.add_argument("--skip-before", action="store_true", help="skip the slow record-by-record way")
    args = parser.parse_args()
    result = asyncio.run(main(args))
    report(result)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"cache-rebuild-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"saved {path.relative_to(RESULTS.parent.parent)}")
