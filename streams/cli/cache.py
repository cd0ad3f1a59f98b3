"""`tokenyard cache stats|invalidate`: look into and clear the semantic cache."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import click
import httpx
import orjson
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from tokenyard.analytics.query_api import fetch_query
from tokenyard.analytics.report import parse_since
from tokenyard.cache import CacheEntry, CacheInvalidation, CacheTombstone, decode_record, encode_record
from tokenyard.errors import TokenyardError
from tokenyard.streams.partition_state import MARKER_KEY, PartitionState
from tokenyard.streams.settings import Settings
from tokenyard.streams.topics import TopicNames


class LiveEntries:
    """Counts the entries of one cache partition that a worker would still serve."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.entries: dict[str, CacheEntry] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key == MARKER_KEY or value is None:
            return
        record = decode_record(value)
        if isinstance(record, CacheEntry):
            self.entries[record.entry_id] = record.without_embedding()
        elif isinstance(record, CacheTombstone):
            self.entries.pop(record.entry_id, None)
        elif isinstance(record, CacheInvalidation):
            self.entries = {k: e for k, e in self.entries.items() if not record.matches(e)}

    def live(self) -> list[CacheEntry]:
        return [e for e in self.entries.values() if e.expires_at > self.now]


@click.group()
def cache() -> None:
    """The semantic cache: statistics and invalidation."""


@cache.command()
@click.option("--since", default="24h", show_default=True, help="Window for hit statistics (24h, 7d, ISO time).")
@click.option("--tenant", default="", help="Only this tenant.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def stats(ctx: object, since: str, tenant: str, as_json: bool) -> None:
    """Entries per tenant and route (replayed from the cache topic), hit rate, exact
    vs semantic hits, rejected candidates and cost saved (from ClickHouse, through
    the usage sink's query port)."""
    settings: Settings = ctx.settings  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    try:
        entries = asyncio.run(_live_entries(settings))
        rows = _hit_rows(settings, parse_since(since, now), now, tenant)
    except TokenyardError as exc:
        click.echo(f"tokenyard cache stats: {exc.code}: {exc.message}", err=True)
        sys.exit(1)
    counts = Counter((e.tenant, e.route) for e in entries if not tenant or e.tenant == tenant)
    if as_json:
        click.echo(orjson.dumps({
            "entries": sum(counts.values()),
            "entries_by_scope": [{"tenant": t, "route": r, "entries": n} for (t, r), n in sorted(counts.items())],
            "routes": rows,
        }, default=str).decode())
        return
    console = Console()
    table = Table(title=f"cache entries ({sum(counts.values())} live)")
    for column in ("tenant", "route", "entries"):
        table.add_column(column, justify="right" if column == "entries" else "left")
    for (t, r), n in sorted(counts.items()):
        table.add_row(t, r, str(n))
    console.print(table)
    hits = Table(title=f"cache use since {since}")
    columns = ["route", "requests", "exact_hits", "semantic_hits", "misses", "bypassed", "hit_rate",
               "rejected_candidates", "cost_saved_usd"]
    for column in columns:
        hits.add_column(column.replace("_", " "), justify="left" if column == "route" else "right")
    for row in rows:
        hits.add_row(*(str(row.get(c, "")) for c in columns))
    console.print(hits)


async def _live_entries(settings: Settings) -> list[CacheEntry]:
    names = TopicNames.from_settings(settings.kafka)
    now = time.time()
    state = PartitionState(
        bootstrap=settings.kafka.bootstrap, topic=names.cache, partitions=settings.kafka.request_partitions,
        new_view=lambda partition: LiveEntries(now), fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        security=settings.kafka.security,
    )
    try:
        views = [await state.view(p) for p in range(settings.kafka.request_partitions)]
    finally:
        await state.stop()
    return [entry for view in views for entry in view.live()]


def _hit_rows(settings: Settings, since: datetime, until: datetime, tenant: str) -> list[dict[str, object]]:
    base = f"http://127.0.0.1:{settings.sink.web_port}"
    with httpx.Client(timeout=30) as http:
        return fetch_query(http, base, "cache_stats", {"since": since, "until": until, "tenant": tenant})


@cache.command()
@click.option("--tenant", default=None, help="Drop this tenant's entries.")
@click.option("--route", default=None, help="Drop this route's entries.")
@click.option("--scope", "scope_id", default=None, help="Drop one cache scope (see `cache stats --json`).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def invalidate(ctx: object, tenant: str | None, route: str | None, scope_id: str | None, as_json: bool) -> None:
    """Drop every entry matching all the given filters, on every worker.

    Written to every partition of the cache topic: each worker applies it within
    a fraction of a second, and it stays in force when shards are rebuilt.
    """
    if tenant is None and route is None and scope_id is None:
        click.echo("tokenyard cache invalidate: name at least one of --tenant, --route, --scope", err=True)
        sys.exit(2)
    settings: Settings = ctx.settings  # type: ignore[attr-defined]
    record = CacheInvalidation(at=time.time(), tenant=tenant, route=route, scope_id=scope_id)
    partitions = asyncio.run(_publish_everywhere(settings, encode_record(record)))
    if as_json:
        click.echo(orjson.dumps({"invalidated": record.to_wire(), "partitions": partitions}).decode())
    else:
        click.echo(f"invalidation written to {partitions} partitions of the cache topic")


async def _publish_everywhere(settings: Settings, value: bytes) -> int:
    names = TopicNames.from_settings(settings.kafka)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap, acks="all", **settings.kafka.security.client_kwargs())
    await producer.start()
    try:
        for partition in range(settings.kafka.request_partitions):
            # a key of its own, so compaction never merges two invalidations
            key = f"invalidate/{uuid.uuid4().hex}".encode()
            await producer.send_and_wait(names.cache, value, key=key, partition=partition)
    finally:
        await producer.stop()
    return settings.kafka.request_partitions
