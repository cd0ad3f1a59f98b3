"""The writer against real chDB: redelivery, outages, exactness of every query."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from tokenyard.analytics.queries import load_query, query_names, run_query
from tokenyard.analytics.rows import to_columns
from tokenyard.analytics.sink import (
    BatchBuffer,
    BatchSettings,
    RetryPolicy,
    UsageWriter,
    deduplication_token,
    write_until_accepted,
)
from tokenyard.errors import SinkUnavailable

WINDOW = {"since": "2026-09-01T00:00:00Z", "until": "2026-10-01T00:00:00Z"}


def windowed_queries():
    return [name for name in query_names() if {"since", "until"} <= load_query(name).param_names]


def every_query(client):
    result = {name: run_query(client, name, WINDOW) for name in windowed_queries()}
    result["request_usage"] = run_query(client, "request_usage", {"request_id": "r5"})
    return result


def rollup_totals(client):
    return {
        "usage_hourly": client.query_rows(
            "SELECT kind, sum(rows) AS rows, sum(cost) AS cost, sum(hits) AS hits,"
            " sum(cost_saved) AS saved, sum(fallback_rows) AS fallbacks"
            " FROM usage_hourly GROUP BY kind ORDER BY kind"
        ),
        "latency_minutely": client.query_rows(
            "SELECT countMerge(attempts) AS n FROM latency_minutely"
        ),
    }


class FlakyClient:
    """A real client whose inserts fail on a schedule; ``lose_ack`` inserts first."""

    def __init__(self, inner, schedule):
        self._inner = inner
        self._schedule = list(schedule)  # per insert call: "ok", "fail" or "lose_ack"
        self.database = inner.database

    def command(self, sql, parameters=None):
        return self._inner.command(sql, parameters)

    def query_rows(self, sql, parameters=None):
        return self._inner.query_rows(sql, parameters)

    def insert_columns(self, table, columns, settings=None):
        self._insert(lambda: self._inner.insert_columns(table, columns, settings))

    def insert_arrow(self, table, block, settings=None):
        self._insert(lambda: self._inner.insert_arrow(table, block, settings))

    def _insert(self, insert):
        step = self._schedule.pop(0) if self._schedule else "ok"
        if step == "fail":
            raise SinkUnavailable("injected: clickhouse unreachable")
        insert()
        if step == "lose_ack":
            raise SinkUnavailable("injected: inserted, but the reply was lost")

    def close(self):
        self._inner.close()


async def inline(call):
    return call()


def test_workload_totals_are_what_the_fixture_says(client, make_events):
    events = make_events(30)
    assert UsageWriter(client).write(events) == len(events)
    spend = run_query(client, "spend_by_tenant", WINDOW)
    attempts = [e for e in events if e.kind == "attempt"]
    assert sum(row["cost_usd"] for row in spend) == sum(e.cost_usd for e in attempts)
    cache = run_query(client, "cache_by_route", WINDOW)
    assert sum(row["cache_hits"] for row in cache) == 8
    assert sum(row["cost_saved_usd"] for row in cache) == Decimal("0.016")
    failures = run_query(client, "failure_cost", WINDOW)
    assert sum(row["failed_attempts"] for row in failures) == 4  # requests 5, 15, 25, 35->no
    assert sum(row["failed_cost_usd"] for row in failures) == Decimal("0.0005") * 4


def test_redelivery_leaves_every_query_and_rollup_unchanged(client, make_events):
    events = make_events(30)
    writer = UsageWriter(client)
    writer.write(events)
    before = every_query(client), rollup_totals(client)

    assert writer.write(events) == 0  # the same batch again
    shuffled = events[5:40]
    random.Random(7).shuffle(shuffled)
    assert writer.write(shuffled + shuffled) == 0  # a reordered overlap, doubled in-batch
    # The same batch inserted again by a second writer racing past the stored-id check:
    client.insert_columns(
        "usage_events",
        to_columns(events),
        settings={"insert_deduplication_token": deduplication_token(events)},
    )

    assert (every_query(client), rollup_totals(client)) == before
    stored = client.query_rows("SELECT count() AS n, uniqExact(event_id) AS u FROM usage_events")
    assert stored == [{"n": len(events), "u": len(events)}]


def test_new_events_mixed_into_a_redelivered_batch_are_inserted_once(client, make_events):
    writer = UsageWriter(client)
    first, second = make_events(10), make_events(10, start_ms=1_790_003_600_000, prefix="s")
    writer.write(first)
    assert writer.write(first[3:] + second) == len(second)
    assert client.query_rows("SELECT count() AS n FROM usage_events") == [
        {"n": len(first) + len(second)}
    ]


def test_copies_in_separate_unmerged_parts_count_once_in_final_queries(client, make_events):
    """Rows written around the sink: exact where the query reads FINAL, not in rollups."""
    events = make_events(30)
    writer = UsageWriter(client)
    writer.write(events)
    exact = {name: run_query(client, name, WINDOW) for name in
             ("spend_by_tenant", "spend_by_model", "failure_cost", "top_requests")}  # fmt: skip
    client.insert_columns("usage_events", to_columns(events[::-1]))  # no token, other block
    parts = client.query_rows(
        "SELECT count() AS n FROM system.parts WHERE database = currentDatabase()"
        " AND table = 'usage_events' AND active"
    )
    assert parts[0]["n"] >= 2
    assert client.query_rows("SELECT count() AS n FROM usage_events") == [{"n": 2 * len(events)}]
    assert {name: run_query(client, name, WINDOW) for name in exact} == exact
    # The documented limit: a materialized view saw both copies.
    doubled = run_query(client, "cost_daily", WINDOW)
    assert sum(r["cost_usd"] for r in doubled) == 2 * sum(r["cost_usd"] for r in exact["spend_by_model"])


async def test_outage_then_recovery_stores_exactly_one_row_per_event(client, make_events):
    events = make_events(200)
    flaky = FlakyClient(client, ["fail", "fail", "fail", "ok", "lose_ack", "ok", "fail", "lose_ack"])
    writer = UsageWriter(flaky)
    buffer = BatchBuffer(BatchSettings(max_rows=64, max_age_s=5))
    delays: list[float] = []
    committed: dict = {}

    async def fake_sleep(seconds):
        delays.append(seconds)

    async def flush():
        batch = buffer.take()
        await write_until_accepted(
            writer, batch.events, RetryPolicy(initial_s=1, max_s=4),
            run_blocking=inline, sleep=fake_sleep,
        )
        committed.update(batch.offsets)  # the agent commits only now

    for offset, event in enumerate(events):
        buffer.add(event.model_dump(mode="json"), now=float(offset), partition=0, offset=offset)
        if buffer.is_due(float(offset)):
            await flush()
    await flush()

    # batch 1: three failures; batch 2: a lost ack, whose retry finds every row stored
    # and inserts nothing; batch 3: ok; batch 4: a failure, then a lost ack.
    assert delays == [1, 2, 4, 1, 1, 2]
    assert committed == {0: len(events)}
    stored = client.query_rows("SELECT count() AS n, uniqExact(event_id) AS u FROM usage_events")
    assert stored == [{"n": len(events), "u": len(events)}]
    cost = sum(e.cost_usd for e in events if e.kind == "attempt")
    assert sum(r["cost_usd"] for r in run_query(client, "cost_hourly", WINDOW)) == cost
    assert sum(r["cost_usd"] for r in run_query(client, "spend_by_tenant", WINDOW)) == cost


async def test_write_until_accepted_reports_each_failure(client, make_events):
    flaky = FlakyClient(client, ["fail", "fail"])
    seen = []

    async def no_sleep(seconds):
        return None

    inserted = await write_until_accepted(
        UsageWriter(flaky), make_events(3), RetryPolicy(initial_s=0.25),
        run_blocking=inline, sleep=no_sleep,
        on_failure=lambda n, exc, wait: seen.append((n, exc.code, wait)),
    )
    assert inserted == len(make_events(3))
    assert seen == [(1, "sink_unavailable", 0.25), (2, "sink_unavailable", 0.5)]


def test_writer_translates_a_missing_table_into_sink_unavailable(fresh_client, make_events):
    with pytest.raises(SinkUnavailable, match="usage_events"):
        UsageWriter(fresh_client).write(make_events(2))
