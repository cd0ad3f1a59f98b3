"""Ingest and query benchmarks on a throwaway chDB directory.

Ingest: ``UsageWriter.write`` (stored-id check + one Arrow insert feeding two
materialized views) at batch sizes 1k and 10k, with the milliseconds per insert
spent in each of the writer's phases. Queries: every windowed analyst query
over tables of the given sizes, filled server-side with INSERT ... SELECT from
``numbers()`` in 1M-row inserts (so a 10M table has ~10 unmerged parts, as a live
table would), three runs each.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tokenyard.analytics.client import AnalyticsClient, open_client
from tokenyard.analytics.migrate import migrate
from tokenyard.analytics.queries import load_query, query_names, run_query
from tokenyard.analytics.sink import UsageWriter
from tokenyard.schemas.records import UsageEvent

START = "2026-01-01 00:00:00"
START_MS = 1_767_225_600_000
_FILL = """
INSERT INTO usage_events (ts, event_id, kind, request_id, attempt, tenant, route, provider,
  model, status, error_code, input_tokens, output_tokens, cached_input_tokens,
  reasoning_tokens, cost, cost_unknown, cost_saved, cached, similarity, latency_ms, ttft_ms,
  fallback_depth, priority, tags)
SELECT
  toDateTime64('{start}', 3, 'UTC') + toIntervalMillisecond(n * 500),
  concat('e', toString(n)), if(n % 3 = 0, 'request', 'attempt'),
  concat('r', toString(intDiv(n, 3))), n % 3, concat('tenant-', toString(n % 50)),
  concat('route-', toString(n % 7)), ['openai', 'anthropic', 'local'][n % 3 + 1],
  ['gpt-4o', 'claude', 'smol', 'gpt-4o-mini'][n % 4 + 1],
  if(n % 20 = 0, 'error', 'ok'), if(n % 20 = 0, 'provider_timeout', ''),
  n % 2000, n % 500, n % 100, 0, toDecimal64(n % 1000, 9) / 100000, false,
  if(n % 9 = 0, toDecimal64(0.002, 9), toDecimal64(0, 9)), n % 9 = 0,
  if(n % 9 = 0, 0.95, NULL), 100 + n % 3000, if(n % 2 = 0, 50 + n % 400, NULL), n % 2,
  'normal', map('app', 'bench')
FROM (SELECT number + {offset} AS n FROM numbers({count}))
"""


def synthetic_events(count: int, start_ms: int = START_MS) -> list[UsageEvent]:
    return [
        UsageEvent(
            event_id=f"bench-{i}", kind="attempt" if i % 3 else "request", ts_ms=start_ms + i,
            request_id=f"r{i // 3}", attempt=i % 3, tenant=f"tenant-{i % 50}",
            route=f"route-{i % 7}", provider="openai", model="gpt-4o", status="ok",
            input_tokens=i % 2000, output_tokens=i % 500, cost_usd=Decimal(i % 1000) / 100000,
            latency_ms=100.0 + i % 3000, ttft_ms=50.0, tags={"app": "bench"},
        )
        for i in range(count)
    ]


def bench_ingest(client: AnalyticsClient, events: list[UsageEvent], batch: int) -> dict[str, Any]:
    """Wall-clock rows/s, and CPU per 1k rows: this process's CPU time (chDB's own
    threads, background merges included): less moved by other programs' load
    than wall time."""
    writer = UsageWriter(client)
    started, cpu_started = time.perf_counter(), time.process_time()
    for first in range(0, len(events), batch):
        writer.write(events[first : first + batch])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    inserts = -(-len(events) // batch)
    phases = {name: round(1000 * seconds / inserts, 1) for name, seconds in writer.phase_seconds.items()}
    return {"batch": batch, "rows": len(events), "seconds": round(elapsed, 3),
            "rows_per_s": round(len(events) / elapsed),
            "cpu_ms_per_1k_rows": round(1000 * cpu / len(events) * 1000, 1),
            "ms_per_insert": phases}  # fmt: skip


def fill(client: AnalyticsClient, rows: int, chunk: int = 1_000_000) -> float:
    started = time.perf_counter()
    for offset in range(0, rows, chunk):
        client.command(_FILL.format(start=START, offset=offset, count=min(chunk, rows - offset)))
    return time.perf_counter() - started


def bench_queries(client: AnalyticsClient, rows: int, runs: int = 3) -> dict[str, Any]:
    until_ms = START_MS + rows * 500 + 1
    window = {"since": "2026-01-01T00:00:00Z",
              "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until_ms / 1000 + 1))}  # fmt: skip
    timings: dict[str, Any] = {}
    for name in query_names():
        params: dict[str, Any]
        if {"since", "until"} <= load_query(name).param_names:
            params = dict(window)
        else:
            params = {"request_id": f"r{rows // 6}"}
        for label, extra in (("", {}), ("[tenant]", {"tenant": "tenant-7"})):
            if extra and "tenant" not in load_query(name).param_names:
                continue
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                run_query(client, name, {**params, **extra})
                seconds.append(time.perf_counter() - started)
            timings[name + label] = {"median_s": round(statistics.median(seconds), 4),
                                     "max_s": round(max(seconds), 4)}  # fmt: skip
    return timings


def run_benchmark(
    directory: str,
    sizes: list[int],
    ingest_rows: int = 200_000,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    dsn = f"chdb://{directory}"
    result: dict[str, Any] = {"ingest": [], "queries": {}}
    events = synthetic_events(ingest_rows)
    for batch in (1_000, 10_000):
        database = f"bench_ingest_{batch}"
        admin = open_client(dsn, "default")
        admin.command(f"DROP DATABASE IF EXISTS {database} SYNC")
        admin.close()
        client = open_client(dsn, database)
        try:
            migrate(client)
            outcome = bench_ingest(client, events, batch)
        finally:
            client.close()
        phases = ", ".join(f"{name} {ms} ms" for name, ms in outcome["ms_per_insert"].items())
        echo(f"ingest batch {batch}: {outcome['rows_per_s']:,} rows/s,"
             f" {outcome['cpu_ms_per_1k_rows']} CPU ms per 1k rows (per insert: {phases})")
        result["ingest"].append(outcome)
    for rows in sizes:
        client = open_client(dsn, f"bench_rows_{rows}")
        try:
            if client.query_rows("EXISTS TABLE usage_events")[0]["result"] == 0:
                migrate(client)
                echo(f"filling {rows:,} rows: {fill(client, rows):.1f}s")
            parts = client.query_rows(
                "SELECT count() AS parts FROM system.parts WHERE database = currentDatabase()"
                " AND table = 'usage_events' AND active"
            )[0]["parts"]
            timings = bench_queries(client, rows)
        finally:
            client.close()
        slowest = max(timings.items(), key=lambda item: item[1]["median_s"])
        echo(f"{rows:,} rows ({parts} parts): slowest {slowest[0]} {slowest[1]['median_s']}s")
        result["queries"][str(rows)] = {"parts": parts, "timings": timings}
    return result
