"""The rollups rebuilt from the fact table after a sink died between the writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tokenyard.analytics.client import DisabledClient
from tokenyard.analytics.rollup_repair import repair_recent_hours, rollups
from tokenyard.analytics.sink import UsageWriter
from tokenyard.errors import ConfigError

DAY_MS = 86_400_000


def hourly(client):
    """``usage_hourly`` per hour, tenant, kind and status, merged (a SummingMergeTree)."""
    return client.query_rows(
        "SELECT hour, tenant, kind, status, sum(rows) AS rows, sum(cost) AS cost, sum(hits) AS hits,"
        " sum(cost_saved) AS saved, sum(fallback_rows) AS fallbacks, sum(input_tokens) AS input"
        " FROM usage_hourly GROUP BY hour, tenant, kind, status ORDER BY hour, tenant, kind, status"
    )


def minutely(client):
    """``latency_minutely`` per minute and model, its states merged."""
    return client.query_rows(
        "SELECT minute, provider, model, countMerge(attempts) AS attempts,"
        " quantilesMerge(0.5, 0.95, 0.99)(latency) AS latency, quantilesMerge(0.5, 0.95, 0.99)(ttft) AS ttft"
        " FROM latency_minutely GROUP BY minute, provider, model ORDER BY minute, provider, model"
    )


def test_lost_view_rows_are_counted_again_and_only_once(client, make_events):
    writer = UsageWriter(client)
    recent = make_events(30)  # 2026-09-21 13:46 to 14:15 UTC
    writer.write(make_events(5, start_ms=recent[0].ts_ms - DAY_MS, prefix="old"))  # outside the repaired hours
    writer.write(recent)
    whole = hourly(client), minutely(client)
    assert whole[1], "the fixture has successful attempts"
    # what a sink killed between the fact part and the views' parts leaves behind
    client.command("DELETE FROM usage_hourly WHERE hour >= toDateTime('2026-09-21 14:00:00', 'UTC')")
    client.command("DELETE FROM latency_minutely WHERE minute >= toDateTime('2026-09-21 14:05:00', 'UTC')")
    assert (hourly(client), minutely(client)) != whole

    since = repair_recent_hours(client)

    assert since == datetime(2026, 9, 21, 13, tzinfo=UTC)
    assert (hourly(client), minutely(client)) == whole
    repair_recent_hours(client)  # a second start changes nothing
    assert (hourly(client), minutely(client)) == whole


def test_rows_older_than_the_repaired_hours_are_left_alone(client, make_events):
    writer = UsageWriter(client)
    writer.write(make_events(5, start_ms=make_events(1)[0].ts_ms - DAY_MS, prefix="old"))
    writer.write(make_events(30))
    client.command("DELETE FROM latency_minutely WHERE minute < toDateTime('2026-09-21 00:00:00', 'UTC')")
    before = minutely(client)

    repair_recent_hours(client)

    assert minutely(client) == before  # the day-old minutes were not rebuilt


def test_nothing_to_repair_without_events(client):
    assert repair_recent_hours(client) is None
    assert repair_recent_hours(DisabledClient()) is None


def test_every_standing_view_is_repaired_with_its_migration_select():
    found = {rollup.table: rollup for rollup in rollups()}
    assert set(found) == {"usage_hourly", "latency_minutely"}  # the views migration 006 dropped are gone
    assert found["usage_hourly"].bucket == "hour" and found["latency_minutely"].bucket == "minute"
    assert "WHERE kind = 'attempt'" in found["latency_minutely"].select


def test_a_view_without_a_time_bucket_is_refused(monkeypatch):
    from tokenyard.analytics import rollup_repair
    from tokenyard.analytics.migrate import Migration

    odd = Migration(version=99, name="odd", statements=(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS odd_mv TO odd AS SELECT tenant, count() AS n FROM usage_events GROUP BY tenant",
    ))
    monkeypatch.setattr(rollup_repair, "load_migrations", lambda: [odd])
    with pytest.raises(ConfigError, match="odd_mv"):
        rollups()
