from __future__ import annotations

import pytest

from tokenyard.analytics.migrate import load_migrations, migrate, split_statements
from tokenyard.analytics.queries import run_query
from tokenyard.analytics.rows import to_columns
from tokenyard.analytics.sink import UsageWriter

WINDOW = {"since": "2026-09-01T00:00:00Z", "until": "2026-10-01T00:00:00Z"}


def test_fresh_database_gets_every_migration_in_order_and_rerun_applies_nothing(fresh_client):
    labels = [m.label for m in load_migrations()]
    assert migrate(fresh_client) == labels
    assert migrate(fresh_client) == []
    recorded = fresh_client.query_rows("SELECT version FROM schema_migrations ORDER BY version")
    assert [row["version"] for row in recorded] == list(range(1, len(labels) + 1))
    tables = {
        row["name"]
        for row in fresh_client.query_rows(
            "SELECT name FROM system.tables WHERE database = currentDatabase()"
        )
    }
    assert {"usage_events", "usage_hourly", "usage_hourly_mv", "latency_minutely",
            "latency_minutely_mv"} <= tables  # fmt: skip
    # 006 replaced these four rollups by usage_hourly
    assert not {"cost_hourly", "cost_daily", "cache_hourly", "outcomes_hourly"} & tables


def test_a_half_applied_migration_runs_again_cleanly(fresh_client):
    first = load_migrations()[0]
    for statement in first.statements:  # applied, but never recorded
        fresh_client.command(statement)
    assert migrate(fresh_client)[0] == first.label


def test_progress_callback_sees_each_migration(fresh_client):
    seen = []
    migrate(fresh_client, on_progress=seen.append)
    assert [m.label for m in seen] == [m.label for m in load_migrations()]


def test_split_statements_drops_comments_and_splits_on_line_end_semicolons():
    sql = "-- a comment; not a statement\nCREATE TABLE a (x String DEFAULT ';');\n\nSELECT 1;\n"
    assert split_statements(sql) == ("CREATE TABLE a (x String DEFAULT ';')", "SELECT 1")


@pytest.mark.parametrize("migration", load_migrations(), ids=lambda m: m.label)
def test_every_migration_statement_is_rerunnable(migration):
    truncated = set()
    for statement in migration.statements:
        words = statement.split()
        if words[0].upper() == "TRUNCATE":
            truncated.add(words[-1])
        if words[0].upper() == "INSERT":  # a backfill runs again only into an emptied table
            assert words[2] in truncated, statement
        else:
            assert " IF NOT EXISTS " in statement.upper() or " IF EXISTS " in statement.upper()


def test_usage_hourly_is_backfilled_exactly_from_the_fact_table_and_again_on_a_rerun(
    fresh_client, make_events
):
    """A database of migrations 1-5 with data (and a copy written around the sink,
    which the old rollups double-count) gets rollup totals equal to the FINAL ones."""
    before_006 = [m for m in load_migrations() if m.version < 6]
    for migration in before_006:
        for statement in migration.statements:
            fresh_client.command(statement)
    events = make_events(30)
    UsageWriter(fresh_client).write(events)
    fresh_client.insert_columns("usage_events", to_columns(events[:10]))  # around the sink
    old_daily = fresh_client.query_rows("SELECT sum(cost) AS cost FROM cost_daily")[0]["cost"]

    migrate(fresh_client)
    exact = sum(r["cost_usd"] for r in run_query(fresh_client, "spend_by_model", WINDOW))
    assert old_daily > exact  # the copy was counted twice before
    expected = {
        "hourly": exact, "daily": exact,
        "requests": sum(1 for e in events if e.kind == "request"),
        "hits": sum(1 for e in events if e.cached),
    }

    def rollups():
        return {
            "hourly": sum(r["cost_usd"] for r in run_query(fresh_client, "cost_hourly", WINDOW)),
            "daily": sum(r["cost_usd"] for r in run_query(fresh_client, "cost_daily", WINDOW)),
            "requests": sum(r["requests"] for r in run_query(fresh_client, "error_rates", WINDOW)),
            "hits": sum(r["cache_hits"] for r in run_query(fresh_client, "cache_by_route", WINDOW)),
        }

    assert rollups() == expected
    [migration_006] = [m for m in load_migrations() if m.version == 6]
    for statement in migration_006.statements:  # interrupted before it was recorded
        fresh_client.command(statement)
    assert rollups() == expected
    UsageWriter(fresh_client).write(make_events(3, start_ms=1_790_100_000_000, prefix="n"))
    new_cost = sum(e.cost_usd for e in make_events(3, prefix="n") if e.kind == "attempt")
    assert rollups()["daily"] == exact + new_cost  # the view feeds it from now on
