"""The usage sink agent: usage events from Kafka into ClickHouse, in batches.

Faust's ``take_events`` acks a batch's events only after this agent's body has
finished with the batch, and the body does not finish until ClickHouse accepted
it: while ClickHouse fails, the agent retries the same batch with backoff and
reads nothing more, so the rows wait in Kafka (back-pressure, never dropping).
Poison rows (not a valid usage event) go to the dead letters, not into retries.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tokenyard.agents.publish import Publisher
from tokenyard.analytics.rows import split_valid
from tokenyard.analytics.sink import RetryPolicy, UsageWriter
from tokenyard.errors import SinkUnavailable
from tokenyard.schemas.codec import salvage

log = logging.getLogger(__name__)


class UsageSink:
    def __init__(
        self,
        *,
        writer: UsageWriter,
        publisher: Publisher,
        retry: RetryPolicy,
        run_blocking: Callable[[Callable[[], int]], Awaitable[int]],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.writer = writer
        self.publisher = publisher
        self.retry = retry
        self.run_blocking = run_blocking
        self.sleep = sleep
        self.clock = clock
        self.rows_written = 0
        self.failures = 0

    async def write_batch(self, records: Sequence[tuple[bytes | None, bytes | None, int | None, int | None]]) -> int:
        """``records`` are (key, value, partition, offset). Returns rows newly stored.

        Returns only once ClickHouse holds every valid row of the batch.
        """
        events, poison = split_valid(
            (value or b"" for _, value, _, _ in records),
            positions=((key, partition, offset) for key, _, partition, offset in records),
        )
        for row in poison:
            key, partition, offset = row.position
            raw = row.value if isinstance(row.value, bytes) else bytes(row.value)
            await self.publisher.dead_letter(
                source_topic=self.publisher.topics.usage, raw=raw, key=key, error=row.error,
                salvage=salvage(raw), now_ms=int(self.clock() * 1000),
                partition=partition, offset=offset,
            )
        if not events:
            return 0
        failures = 0
        while True:
            try:
                written = await self.run_blocking(lambda: self.writer.write(events))
            except SinkUnavailable as exc:
                failures += 1
                self.failures += 1
                delay = self.retry.delay(failures, retry_after=exc.retry_after, random_fraction=random.random())
                log.warning(
                    "ClickHouse did not take %d usage rows (%s); retry %d in %.1fs, consuming paused",
                    len(events), exc.message, failures, delay,
                )
                await self.sleep(delay)
                continue
            self.rows_written += written
            return written


def register(app: Any, sink: UsageSink, usage_topic: Any, *, batch_size: int, flush_interval_s: float) -> Any:
    async def usage_sink_agent(stream: Any) -> None:
        async for events in stream.take_events(batch_size, within=flush_interval_s):
            await sink.write_batch(
                [(e.message.key, e.message.value, e.message.partition, e.message.offset) for e in events]
            )

    return app.agent(usage_topic, name="tokenyard.usage-sink")(usage_sink_agent)
