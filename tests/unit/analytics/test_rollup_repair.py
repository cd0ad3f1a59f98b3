"""The hourly rollup rebuilt from the fact table after a sink died between the two writes."""

from __future__ import annotations

from datetime import UTC, datetime

from tokenyard.analytics.client import DisabledClient
from tokenyard.analytics.rollup_repair import repair_recent_hours, rollup_select
from tokenyard.analytics.sink import UsageWriter

DAY_MS = 86_400_000


def rollup(client):
    """The rollup per hour, tenant, kind and status, merged (it is a SummingMergeTree)."""
    return client.query_rows(
        "SELECT hour, tenant, kind, status, sum(rows) AS rows, sum(cost) AS cost, sum(hits) AS hits,"
        " sum(cost_saved) AS saved, sum(fallback_rows) AS fallbacks, sum(input_tokens) AS input"
        " FROM usage_hourly GROUP BY hour, tenant, kind, status ORDER BY hour, tenant, kind, status"
    )


def test_lost_view_rows_are_counted_again_and_only_once(client, make_events):
    writer = UsageWriter(client)
    recent = make_events(30)  # 2026-09-21 13:46 to 14:15 UTC
    writer.write(make_events(5, start_ms=recent[0].ts_ms - DAY_MS, prefix="old"))  # outside the repaired hours
    writer.write(recent)
    whole = rollup(client)
    # what a sink killed between the fact part and the view's part leaves behind
    client.command("DELETE FROM usage_hourly WHERE hour >= toDateTime('2026-09-21 14:00:00', 'UTC')")
    assert rollup(client) != whole

    since = repair_recent_hours(client)

    assert since == datetime(2026, 9, 21, 13, tzinfo=UTC)
    assert rollup(client) == whole
    repair_recent_hours(client)  # a second start changes nothing
    assert rollup(client) == whole


def test_nothing_to_repair_without_events(client):
    assert repair_recent_hours(client) is None
    assert repair_recent_hours(DisabledClient()) is None


def test_the_repair_uses_the_view_definition_from_its_migration():
    select = rollup_select()
    assert select.startswith("SELECT") and "FROM usage_events" in select and "GROUP BY hour" in select
