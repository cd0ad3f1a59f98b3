"""How often a tailing consumer skips a record on the local broker, with and without
the hole screening every tokenyard consumer uses (streams/offset_holes.py).

    .venv/bin/python -m benchmarks.broker_holes [--records 30000] [--producers 16] [--rate 1000]

Starts a fresh tansu, has ``--producers`` producers write ``--records`` records at
``--rate`` per second over 4 partitions, and tails the topic with a plain
``AIOKafkaConsumer`` and a ``GaplessConsumer`` side by side. Afterwards a fresh
consumer reads everything from the start: a record it finds that a tail did not
see was skipped by that tail.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.progress import Progress

from tokenyard.streams.broker import LocalBroker, ensure_topics
from tokenyard.streams.offset_holes import GaplessConsumer

TOPIC = "holes"
PARTITIONS = 4


async def _tail(consumer: AIOKafkaConsumer, seen: dict[int, list[int]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for tp, records in (await consumer.getmany(timeout_ms=50)).items():
            seen[tp.partition].extend(r.offset for r in records)


async def _consumer(cls: type[AIOKafkaConsumer], bootstrap: str) -> AIOKafkaConsumer:
    consumer = cls(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10,
                   auto_offset_reset="earliest")
    await consumer.start()
    consumer.assign([TopicPartition(TOPIC, p) for p in range(PARTITIONS)])
    return consumer


async def _produce(bootstrap: str, records: int, producers: int, rate: float) -> None:
    clients = [AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks="all") for _ in range(producers)]
    for c in clients:
        await c.start()
    started = time.monotonic()
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("producing", total=records)

            async def one(i: int) -> None:
                await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
                await clients[i % producers].send_and_wait(TOPIC, b"x" * 200, partition=i % PARTITIONS)
                bar.advance(task)

            await asyncio.gather(*(one(i) for i in range(records)))
    finally:
        for c in clients:
            await c.stop()


def _skipped(seen: list[int], everything: set[int]) -> int:
    return len(everything - set(seen))


async def run(records: int, producers: int, rate: float) -> None:
    with LocalBroker() as broker:
        await ensure_topics(broker.bootstrap, {TOPIC: PARTITIONS})
        tails = {"AIOKafkaConsumer": await _consumer(AIOKafkaConsumer, broker.bootstrap),
                 "GaplessConsumer": await _consumer(GaplessConsumer, broker.bootstrap)}
        seen = {name: {p: [] for p in range(PARTITIONS)} for name in tails}
        stop = asyncio.Event()
        tailing = [asyncio.ensure_future(_tail(c, seen[name], stop)) for name, c in tails.items()]
        await _produce(broker.bootstrap, records, producers, rate)
        await asyncio.sleep(2.0)
        stop.set()
        await asyncio.gather(*tailing)
        for c in tails.values():
            await c.stop()
        fresh = await _consumer(AIOKafkaConsumer, broker.bootstrap)
        everything: dict[int, set[int]] = {p: set() for p in range(PARTITIONS)}
        try:
            while sum(map(len, everything.values())) < records:
                for tp, got in (await fresh.getmany(timeout_ms=200)).items():
                    everything[tp.partition].update(r.offset for r in got)
        finally:
            await fresh.stop()
    print(f"{records} records, {producers} producers, {rate:g}/s, {PARTITIONS} partitions")
    print(f"{'tail':<18}{'skipped':>8}{'out of order':>14}")
    for name in tails:
        skipped = sum(_skipped(seen[name][p], everything[p]) for p in range(PARTITIONS))
        disorder = sum(sum(1 for a, b in zip(s, s[1:]) if b != a + 1) for s in seen[name].values())
        print(f"{name:<18}{skipped:>8}{disorder:>14}")
    watch = tails["GaplessConsumer"].hole_watch  # type: ignore[attr-defined]
    print(f"GaplessConsumer refetched {watch.refetches} time(s), gave up on {watch.accepted} hole(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--producers", type=int, default=16)
    parser.add_argument("--rate", type=float, default=1000.0)
    args = parser.parse_args()
    asyncio.run(run(args.records, args.producers, args.rate))


if __name__ == "__main__":
    main()
