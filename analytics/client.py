"""The one door to ClickHouse: embedded chDB, a ClickHouse server, or nothing.

``open_client`` takes a DSN:

- ``chdb:///abs/dir``: embedded chDB through clickhouse-connect. chDB holds one
  engine per process and per directory (see README.md); clients on the same directory
  share it, a client on another directory fails until every client of the first is
  closed.
- ``http://host:8123`` / ``https://...``: a ClickHouse server.
- ``none://``: analytics disabled; writes are counted and dropped, queries return
  nothing. For setups that run the gateway without ClickHouse.

Every clickhouse-connect or chDB error is translated here into
``SinkUnavailable`` (retriable: the rows stay in Kafka), so nothing above this module
sees a driver exception.
"""

from __future__ import annotations

import re
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from clickhouse_connect import get_client
from clickhouse_connect.driver.exceptions import ClickHouseError

from tokenyard.errors import ConfigError, SinkUnavailable

if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_DATABASE = "tokenyard"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class AnalyticsClient(Protocol):
    """What the sink, the migrations and the queries need from ClickHouse."""

    database: str

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None: ...

    def query_rows(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...

    def insert_columns(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        settings: Mapping[str, Any] | None = None,
    ) -> None: ...

    def insert_arrow(
        self, table: str, block: pa.Table, settings: Mapping[str, Any] | None = None
    ) -> None: ...

    def close(self) -> None: ...


class ClickHouseClient:
    """A clickhouse-connect client (HTTP or chDB) with errors translated."""

    def __init__(self, driver: Any, database: str, dsn: str):
        self._driver = driver
        self.database = database
        self.dsn = dsn

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        try:
            self._driver.command(sql, parameters=dict(parameters or {}))
        except ClickHouseError as exc:
            raise _unavailable("command", exc) from exc

    def query_rows(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        try:
            result = self._driver.query(sql, parameters=dict(parameters or {}))
        except ClickHouseError as exc:
            raise _unavailable("query", exc) from exc
        names = result.column_names
        return [dict(zip(names, row)) for row in result.result_rows]

    def insert_columns(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        names = list(columns)
        try:
            self._driver.insert(
                table,
                [columns[name] for name in names],
                column_names=names,
                column_oriented=True,
                settings=dict(settings or {}),
            )
        except ClickHouseError as exc:
            raise _unavailable(f"insert into {table}", exc) from exc

    def insert_arrow(
        self, table: str, block: pa.Table, settings: Mapping[str, Any] | None = None
    ) -> None:
        """Insert an Arrow table as one block; ClickHouse parses it (no Python per row)."""
        try:
            self._driver.insert_arrow(table, block, settings=dict(settings or {}))
        except ClickHouseError as exc:
            raise _unavailable(f"insert into {table}", exc) from exc

    def close(self) -> None:
        self._driver.close()


class DisabledClient:
    """The ``none://`` twin: accepts every write, stores nothing, counts rows."""

    def __init__(self, database: str = DEFAULT_DATABASE):
        self.database = database
        self.rows_written = 0
        self.inserts = 0
        self.rows_by_table: dict[str, int] = {}

    def command(self, sql: str, parameters: Mapping[str, Any] | None = None) -> None:
        return None

    def query_rows(
        self, sql: str, parameters: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return []

    def insert_columns(
        self,
        table: str,
        columns: Mapping[str, Sequence[Any]],
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self._count(table, len(next(iter(columns.values()), ())))

    def insert_arrow(
        self, table: str, block: pa.Table, settings: Mapping[str, Any] | None = None
    ) -> None:
        self._count(table, block.num_rows)

    def _count(self, table: str, rows: int) -> None:
        self.inserts += 1
        self.rows_written += rows
        self.rows_by_table[table] = self.rows_by_table.get(table, 0) + rows

    def close(self) -> None:
        return None


def open_client(dsn: str, database: str = DEFAULT_DATABASE) -> AnalyticsClient:
    """Connect to ``dsn`` and make sure ``database`` exists; the client uses it.

    Raises ``ConfigError`` for a DSN or database name that cannot work, and
    ``SinkUnavailable`` when ClickHouse cannot be reached or refuses.
    """
    if not _DATABASE_NAME.match(database):
        raise ConfigError(f"analytics database name {database!r} is not a plain identifier")
    scheme = urlparse(dsn).scheme
    if scheme == "none":
        return DisabledClient(database)
    if scheme == "chdb":
        dsn = f"chdb://{chdb_directory(dsn)}"
    elif scheme not in ("http", "https"):
        raise ConfigError(f"analytics dsn {dsn!r}: scheme must be chdb, http, https or none")
    try:
        bootstrap = get_client(dsn=dsn)
        try:
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        finally:
            bootstrap.close()
        driver = get_client(dsn=dsn, database=database)
    except ClickHouseError as exc:
        raise _unavailable(f"connect to {_redacted(dsn)}", exc) from exc
    return ClickHouseClient(driver, database, _redacted(dsn))


def chdb_directory(dsn: str) -> Path:
    """The absolute data directory of a chdb DSN, created if missing.

    ``chdb:///abs/dir`` is absolute; ``chdb://rel/dir`` is read as a directory
    relative to the working directory (clickhouse-connect would take ``rel`` for a
    location and ``dir`` for a database, which is never what a config means).
    """
    parsed = urlparse(dsn)
    if parsed.query or parsed.netloc in ("memory", ":memory:"):
        raise ConfigError(f"analytics dsn {dsn!r}: use chdb:///absolute/directory")
    text = parsed.netloc + parsed.path
    if not text.strip("/"):
        raise ConfigError(f"analytics dsn {dsn!r} names no directory")
    directory = Path(text).resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"analytics dsn {dsn!r}: cannot create {directory}: {exc}") from exc
    return directory


def _unavailable(operation: str, exc: ClickHouseError) -> SinkUnavailable:
    # The first line of a ClickHouse error names the code and the cause; the rest
    # is a stack trace that helps nobody reading a log line.
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return SinkUnavailable(
        f"clickhouse {operation} failed: {first_line[:500]}",
        driver_error=type(exc).__name__,
    )


def _redacted(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    parsed = urlparse(dsn)
    if parsed.password is None:
        return dsn
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@")
    return parsed._replace(netloc=netloc).geturl()
