"""The usage sink's core: batching, the column-wise writer, and the retry policy.

The Faust agent (``agents/``) is thin: it feeds consumed values into a
``BatchBuffer`` with their offsets, sends ``batch.poison`` to the dead letters,
calls ``UsageWriter.write(batch.events)`` from an executor until it returns (chDB
has no async client), and only then commits ``batch.offsets``. While ClickHouse
fails it keeps retrying the same batch with ``RetryPolicy`` delays and consumes
nothing more, so the rows wait in Kafka however long the outage lasts.

Why a redelivered event is counted once, everywhere (see README.md):
1. ``write`` keeps the first copy of each event_id within a batch;
2. it skips event_ids the fact table already holds (one indexed range read);
3. it inserts one Arrow block with a deduplication token derived from the event_ids
   it inserts, so a retry of an insert that ClickHouse accepted but the client did not hear
   back from is dropped atomically, in the fact table and in every rollup.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tokenyard.analytics.client import AnalyticsClient
from tokenyard.analytics.rows import (
    FACT_TABLE,
    PoisonRow,
    parse_usage_event,
    to_arrow,
    unique_by_event_id,
)
from tokenyard.errors import RequestError, SinkUnavailable
from tokenyard.schemas.records import UsageEvent


class BatchSettings(BaseModel):
    """When a batch is flushed: at ``max_rows`` values or ``max_age_s`` after its first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    max_age_s: float = Field(default=1.0, gt=0, le=3600)


class RetryPolicy(BaseModel):
    """Exponential backoff, capped; never gives up (the rows must not be dropped)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    initial_s: float = Field(default=0.5, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    max_s: float = Field(default=30.0, gt=0)
    jitter: float = Field(default=0.0, ge=0, le=1)

    def delay(
        self, failures: int, *, retry_after: float | None = None, random_fraction: float = 0.5
    ) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1-based).

        ``random_fraction`` in [0, 1] spreads retries of many sinks when ``jitter`` > 0;
        the caller draws it, so this stays a pure function.
        """
        if failures < 1:
            raise ValueError("failures counts from 1")
        exponent = min(failures - 1, 64)  # past the cap already; avoid float overflow
        base = min(self.max_s, self.initial_s * self.multiplier**exponent)
        spread = base * self.jitter * (2 * random_fraction - 1)
        wait = min(self.max_s, max(0.0, base + spread))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_s))
        return wait


@dataclass(frozen=True)
class UsageBatch:
    """What one flush carries: rows to insert, poison to dead-letter, offsets to commit.

    ``offsets`` maps each partition key the agent passed to the next offset to
    commit (highest offset seen + 1), covering poison rows too.
    """

    events: tuple[UsageEvent, ...]
    poison: tuple[PoisonRow, ...]
    offsets: dict[Hashable, int]
    opened_at: float | None

    def __len__(self) -> int:
        return len(self.events) + len(self.poison)


@dataclass
class BatchBuffer:
    """Pure batching by size and age; the caller passes ``now`` (no clock inside)."""

    settings: BatchSettings = field(default_factory=BatchSettings)
    _events: list[UsageEvent] = field(default_factory=list, init=False)
    _poison: list[PoisonRow] = field(default_factory=list, init=False)
    _offsets: dict[Hashable, int] = field(default_factory=dict, init=False)
    _opened_at: float | None = field(default=None, init=False)

    def __len__(self) -> int:
        return len(self._events) + len(self._poison)

    def add(
        self, value: Any, now: float, partition: Hashable = None, offset: int | None = None
    ) -> None:
        """Validate ``value`` into the batch (or its poison list) and note its offset."""
        if self._opened_at is None:
            self._opened_at = now
        position = (partition, offset)
        try:
            self._events.append(parse_usage_event(value))
        except RequestError as exc:
            self._poison.append(PoisonRow(value, exc, position))
        if offset is not None:
            self._offsets[partition] = max(self._offsets.get(partition, 0), offset + 1)

    def is_due(self, now: float) -> bool:
        if len(self) >= self.settings.max_rows:
            return True
        return self._opened_at is not None and now - self._opened_at >= self.settings.max_age_s

    def seconds_until_due(self, now: float) -> float | None:
        """How long the agent may wait for more values; None while empty."""
        if self._opened_at is None:
            return None
        if len(self) >= self.settings.max_rows:
            return 0.0
        return max(0.0, self._opened_at + self.settings.max_age_s - now)

    def take(self) -> UsageBatch:
        """Everything buffered, as one batch; the buffer starts empty again."""
        batch = UsageBatch(
            tuple(self._events), tuple(self._poison), dict(self._offsets), self._opened_at
        )
        self._events, self._poison, self._offsets, self._opened_at = [], [], {}, None
        return batch


class UsageWriter:
    """Inserts usage events column-wise, each event_id at most once (see module doc).

    ``phase_seconds`` adds up where ``write`` spent its time (``check``: in-batch
    copies and the stored-id read; ``build``: the Arrow block; ``insert``: ClickHouse
    writing the fact table and its materialized views), for benchmarks and logs.
    """

    def __init__(
        self,
        client: AnalyticsClient,
        table: str = FACT_TABLE,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self._client = client
        self._table = table
        self._clock = clock
        self.phase_seconds = {"check": 0.0, "build": 0.0, "insert": 0.0}

    def write(self, events: Sequence[UsageEvent]) -> int:
        """Insert the events not yet stored; returns how many were new.

        Blocking. Raises ``SinkUnavailable`` when ClickHouse fails; calling again with
        the same events is always safe.
        """
        started = self._clock()
        unique = unique_by_event_id(events)
        if not unique:
            return 0
        stored = self._stored_event_ids(unique)
        fresh = [event for event in unique if event.event_id not in stored]
        checked = self._clock()
        self.phase_seconds["check"] += checked - started
        if not fresh:
            return 0
        block = to_arrow(fresh)
        built = self._clock()
        self.phase_seconds["build"] += built - checked
        self._client.insert_arrow(
            self._table,
            block,
            settings={
                "insert_deduplicate": 1,
                "insert_deduplication_token": deduplication_token(fresh),
                "deduplicate_blocks_in_dependent_materialized_views": 1,
            },
        )
        self.phase_seconds["insert"] += self._clock() - built
        return len(fresh)

    def _stored_event_ids(self, events: Sequence[UsageEvent]) -> set[str]:
        # A range read on the sort key prefix (tenant, ts): cheap, and it needs no
        # list of ids in the query text (10k ids would not fit an HTTP URL).
        rows = self._client.query_rows(
            f"SELECT event_id FROM {self._table}"
            " WHERE tenant IN {tenants:Array(String)}"
            " AND ts >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC')"
            " AND ts <= fromUnixTimestamp64Milli({hi:Int64}, 'UTC')",
            {
                "tenants": sorted({event.tenant for event in events}),
                "lo": min(event.ts_ms for event in events),
                "hi": max(event.ts_ms for event in events),
            },
        )
        return {row["event_id"] for row in rows}


def deduplication_token(events: Sequence[UsageEvent]) -> str:
    """Same set of event_ids -> same token, whatever the order."""
    digest = hashlib.sha256()
    for event_id in sorted(event.event_id for event in events):
        digest.update(event_id.encode())
        digest.update(b"\0")
    return digest.hexdigest()


async def write_until_accepted(
    writer: UsageWriter,
    events: Sequence[UsageEvent],
    policy: RetryPolicy,
    *,
    run_blocking: Callable[[Callable[[], int]], Awaitable[int]] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    random_fraction: Callable[[], float] = lambda: 0.5,
    on_failure: Callable[[int, SinkUnavailable, float], None] | None = None,
) -> int:
    """Retry ``writer.write(events)`` with ``policy`` until ClickHouse accepts it.

    Never gives up: the caller commits offsets only after this returns, and a
    cancelled task (shutdown, rebalance) leaves them uncommitted, so Kafka redelivers.
    ``run_blocking`` defaults to the loop's default executor; ``on_failure`` gets
    (failures, error, delay) for logs and metrics.
    """
    if run_blocking is None:

        async def run_blocking(call: Callable[[], int]) -> int:
            return await asyncio.get_running_loop().run_in_executor(None, call)

    failures = 0
    while True:
        try:
            return await run_blocking(lambda: writer.write(events))
        except SinkUnavailable as exc:
            failures += 1
            wait = policy.delay(
                failures, retry_after=exc.retry_after, random_fraction=random_fraction()
            )
            if on_failure is not None:
                on_failure(failures, exc, wait)
            await sleep(wait)
