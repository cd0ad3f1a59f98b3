"""The hourly rollup made whole again after the sink was killed mid-insert.

ClickHouse writes an insert's fact part and its materialized view's part one after
the other. A sink killed between the two leaves events in ``usage_events`` that
``usage_hourly`` never counted, and the redelivered batch cannot add them: its
event_ids are already stored, so the writer skips them (and a batch cut the same way
is dropped by the deduplication token, in the view too). Seen as one attempt missing
from the rollup in ``tests/faults/test_sink_down.py``, about 1 run in 10.

So the sink, before it consumes, recomputes the rollup's most recent hours from the
deduplicated fact table, with the view's own SELECT (migration 006 stays the one
definition). Like the migrations, this assumes nothing else inserts meanwhile: one
sink per ClickHouse database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tokenyard.analytics.client import AnalyticsClient, DisabledClient
from tokenyard.analytics.migrate import load_migrations
from tokenyard.errors import ConfigError

#: Hours rebuilt, counted back from the newest event's hour: a batch in flight at the
#: kill holds events of the last minutes, redelivered ones can be a little older.
REPAIR_HOURS = 2

_VIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly_mv TO usage_hourly AS\s+(SELECT\b.*)", re.S)
_SOURCE = re.compile(r"\bFROM usage_events\b")


def rollup_select() -> str:
    """The SELECT the ``usage_hourly`` view applies to every insert (from its migration)."""
    for migration in load_migrations():
        for statement in migration.statements:
            match = _VIEW.match(statement)
            if match:
                return match.group(1)
    raise ConfigError("no migration defines usage_hourly_mv")


def repair_recent_hours(client: AnalyticsClient, hours: int = REPAIR_HOURS) -> datetime | None:
    """Rebuild ``usage_hourly`` from the newest event's hour back ``hours`` hours.

    Returns the first hour rebuilt, or None when there is nothing to rebuild.
    """
    if isinstance(client, DisabledClient):
        return None
    [row] = client.query_rows("SELECT count() AS n, toUnixTimestamp(max(ts)) AS last FROM usage_events")
    if not row["n"]:
        return None
    since = (int(row["last"]) // 3600 - (hours - 1)) * 3600
    select = _SOURCE.sub("FROM usage_events FINAL WHERE ts >= toDateTime({since:Int64}, 'UTC')", rollup_select(), count=1)
    client.command("DELETE FROM usage_hourly WHERE hour >= toDateTime({since:Int64}, 'UTC')", {"since": since})
    client.command(f"INSERT INTO usage_hourly {select}", {"since": since})
    return datetime.fromtimestamp(since, UTC)
