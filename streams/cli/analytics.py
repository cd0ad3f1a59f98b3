"""``tokenyard analytics``: migrate the ClickHouse schema, run a named query, bench."""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from tokenyard.analytics.client import AnalyticsClient, open_client
from tokenyard.analytics.migrate import Migration, load_migrations, migrate
from tokenyard.analytics.queries import load_query, query_names
from tokenyard.analytics.query_api import handle_query
from tokenyard.errors import RequestError, TokenyardError

_DSN_HELP = "ClickHouse DSN: chdb:///dir, http://host:8123, none:// (default: from the config)."


def _open(obj: Any, dsn: str | None, database: str | None) -> AnalyticsClient:
    settings = obj.settings.clickhouse if obj is not None else None
    return open_client(
        dsn or (settings.dsn if settings else "chdb://.tokenyard/chdb"),
        database or (settings.database if settings else "tokenyard"),
    )


def _fail(command: str, exc: TokenyardError) -> None:
    click.echo(f"tokenyard analytics {command}: {exc.code}: {exc.message}", err=True)
    sys.exit(2 if isinstance(exc, RequestError) else 1)


@click.group("analytics")
def analytics() -> None:
    """ClickHouse cost analytics: schema, named queries, benchmarks."""


@analytics.command("migrate")
@click.option("--dsn", default=None, help=_DSN_HELP)
@click.option("--database", default=None, help="Database (default: from the config).")
@click.pass_obj
def migrate_command(obj: Any, dsn: str | None, database: str | None) -> None:
    """Apply the numbered migrations not yet applied (safe to run again)."""
    total = len(load_migrations())

    def progress(migration: Migration) -> None:
        click.echo(f"[{migration.version}/{total}] applying {migration.label}", err=True)

    try:
        client = _open(obj, dsn, database)
        try:
            applied = migrate(client, on_progress=progress)
        finally:
            client.close()
    except TokenyardError as exc:
        _fail("migrate", exc)
        return
    detail = ": " + ", ".join(applied) if applied else "; schema is current"
    click.echo(f"applied {len(applied)} migration(s){detail}")


@analytics.command("query")
@click.argument("name", required=False)
@click.option("--param", "params", multiple=True, metavar="K=V", help="A query parameter; repeat.")
@click.option("--json", "as_json", is_flag=True, help="Print rows as a JSON array.")
@click.option("--dsn", default=None, help=_DSN_HELP)
@click.option("--database", default=None, help="Database (default: from the config).")
@click.pass_obj
def query_command(
    obj: Any, name: str | None, params: tuple[str, ...], as_json: bool, dsn: str | None,
    database: str | None,
) -> None:
    """Run the named query NAME; without NAME, list the queries and their parameters."""
    if name is None:
        for known in query_names():
            query = load_query(known)
            click.echo(f"{known}: {query.answers}")
            for param in query.params:
                default = "" if param.required else f" = {param.default!r}"
                click.echo(f"    --param {param.name}=<{param.type}>{default}  {param.doc}")
        return
    values: dict[str, str] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not K=V", param_hint="--param")
        values[key.strip()] = value
    try:
        client = _open(obj, dsn, database)
        try:
            rows = handle_query(client, name, values)
        finally:
            client.close()
    except TokenyardError as exc:
        _fail("query", exc)
        return
    if as_json:
        click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    for row in rows:
        click.echo("\t".join("" if value is None else str(value) for value in row.values()))


@analytics.command("bench")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
              help="An empty directory for a throwaway chDB (not the live one).")
@click.option("--rows", "row_counts", default="1000000,10000000", show_default=True,
              help="Comma-separated table sizes for the query latencies.")
@click.option("--ingest-rows", default=200_000, show_default=True, type=int)
def bench_ingest(directory: str, row_counts: str, ingest_rows: int) -> None:
    """Rows/s into chDB at batch 1k and 10k; each analyst query's latency at each size."""
    from tokenyard.analytics.bench import run_benchmark

    sizes = [int(part) for part in row_counts.split(",") if part.strip()]
    result = run_benchmark(
        directory, sizes, ingest_rows=ingest_rows, echo=lambda line: click.echo(line, err=True)
    )
    click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
