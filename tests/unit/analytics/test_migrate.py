from __future__ import annotations

import pytest

from tokenyard.analytics.migrate import load_migrations, migrate, split_statements


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
    assert {"usage_events", "cost_hourly", "cost_daily", "latency_minutely",
            "cache_hourly", "outcomes_hourly", "cost_hourly_mv"} <= tables  # fmt: skip


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
    for statement in migration.statements:
        assert "IF NOT EXISTS" in statement.upper()
