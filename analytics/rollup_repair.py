"""The rollups made whole again after the sink was killed mid-insert.

ClickHouse writes an insert's fact part and its materialized views' parts one after
the other. A sink killed in between leaves events in ``usage_events`` that a rollup
never counted, and the redelivered batch cannot add them: its event_ids are already
stored, so the writer skips them (and a batch cut the same way is dropped by the
deduplication token, in the views too). Seen as one attempt missing from
``usage_hourly`` in ``tests/faults/test_sink_down.py``, about 1 run in 10.

So the sink, before it consumes, recomputes every rollup's most recent hours from the
deduplicated fact table, each with its view's own SELECT (the migrations stay the one
definition). Like the migrations, this assumes nothing else inserts meanwhile: one
sink per ClickHouse database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tokenyard.analytics.client import AnalyticsClient, DisabledClient
from tokenyard.analytics.migrate import load_migrations
from tokenyard.errors import ConfigError

#: Hours rebuilt, counted back from the newest event's hour: a batch in flight at the
#: kill holds events of the last minutes, redelivered ones can be a little older.
REPAIR_HOURS = 2

_VIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\s+(SELECT\b.*)", re.S)
_DROP = re.compile(r"DROP VIEW IF EXISTS (\w+)")
_SOURCE = re.compile(r"\bFROM usage_events\b")
_BUCKET = re.compile(r"\btoStartOf(?:Hour|Minute)\(ts\) AS (\w+)")


@dataclass(frozen=True)
class Rollup:
    """One materialized view on ``usage_events`` and the table it fills."""

    view: str
    table: str
    select: str  # the view's SELECT, reading ``usage_events``
    bucket: str  # the table's time column (an hour or a minute, so hour-aligned)


def rollups() -> list[Rollup]:
    """The views the migrations leave standing, in the order they were created."""
    standing: dict[str, tuple[str, str]] = {}
    for migration in load_migrations():
        for statement in migration.statements:
            if dropped := _DROP.match(statement):
                standing.pop(dropped.group(1), None)
            elif view := _VIEW.match(statement):
                name, table, select = view.groups()
                standing[name] = (table, select)
    if not standing:
        raise ConfigError("no migration defines a rollup view")
    found = []
    for name, (table, select) in standing.items():
        if not _SOURCE.search(select) or not (bucket := _BUCKET.search(select)):
            raise ConfigError(f"{name} does not bucket usage_events by hour or minute")
        found.append(Rollup(name, table, select, bucket.group(1)))
    return found


def repair_recent_hours(client: AnalyticsClient, hours: int = REPAIR_HOURS) -> datetime | None:
    """Rebuild every rollup from the newest event's hour back ``hours`` hours.

    Returns the first hour rebuilt, or None when there is nothing to rebuild.
    """
    if isinstance(client, DisabledClient):
        return None
    [row] = client.query_rows("SELECT count() AS n, toUnixTimestamp(max(ts)) AS last FROM usage_events")
    if not row["n"]:
        return None
    since = (int(row["last"]) // 3600 - (hours - 1)) * 3600
    # A subquery, so the view's own WHERE (if any) still follows its FROM unchanged.
    recent = "FROM (SELECT * FROM usage_events FINAL WHERE ts >= toDateTime({since:Int64}, 'UTC'))"
    for rollup in rollups():
        select = _SOURCE.sub(recent, rollup.select, count=1)
        client.command(
            f"DELETE FROM {rollup.table} WHERE {rollup.bucket} >= toDateTime({{since:Int64}}, 'UTC')",
            {"since": since},
        )
        client.command(f"INSERT INTO {rollup.table} {select}", {"since": since})
    return datetime.fromtimestamp(since, UTC)
