"""Numbered ClickHouse migrations, applied in order and recorded once.

Migrations live in ``migrations/NNN_name.sql`` beside this module. Each file holds
one or more statements separated by ``;`` at the end of a line; every statement is
written ``IF NOT EXISTS`` so a migration interrupted half way can simply run again.
Applied versions are recorded in ``schema_migrations``; re-running applies nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from tokenyard.analytics.client import AnalyticsClient, DisabledClient
from tokenyard.errors import ConfigError

_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")

MIGRATIONS_TABLE = "schema_migrations"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.version:03d}_{self.name}"


def split_statements(sql: str) -> tuple[str, ...]:
    """The statements of one migration file, without comment lines."""
    kept = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return tuple(part.strip() for part in _STATEMENT_END.split(kept) if part.strip())


def load_migrations() -> list[Migration]:
    """Every bundled migration, in version order; a gap or duplicate is a bug."""
    folder = resources.files("tokenyard.analytics").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        found.append(
            Migration(int(match.group(1)), match.group(2), split_statements(entry.read_text()))
        )
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise ConfigError(f"analytics migrations must be numbered 1..n without gaps: {versions}")
    return found


def applied_versions(client: AnalyticsClient) -> set[int]:
    _ensure_migrations_table(client)
    rows = client.query_rows(f"SELECT DISTINCT version FROM {MIGRATIONS_TABLE}")
    return {int(row["version"]) for row in rows}


def migrate(
    client: AnalyticsClient,
    on_progress: Callable[[Migration], None] | None = None,
) -> list[str]:
    """Apply every migration not yet recorded; returns the labels applied, in order.

    ``on_progress`` is called before each migration runs (the CLI shows it).
    Raises ``SinkUnavailable`` if ClickHouse refuses a statement; the migrations
    before it stay recorded, and the failed one runs again next time.
    """
    if isinstance(client, DisabledClient):
        return []  # analytics is off: there is no schema to keep
    done = applied_versions(client)
    applied: list[str] = []
    for migration in load_migrations():
        if migration.version in done:
            continue
        if on_progress is not None:
            on_progress(migration)
        for statement in migration.statements:
            client.command(statement)
        client.insert_columns(
            MIGRATIONS_TABLE,
            {"version": [migration.version], "name": [migration.name]},
        )
        applied.append(migration.label)
    return applied


def _ensure_migrations_table(client: AnalyticsClient) -> None:
    client.command(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
        " version UInt32, name String,"
        " applied_at DateTime64(3, 'UTC') DEFAULT now64(3)"
        ") ENGINE = MergeTree ORDER BY version"
    )
