"""``tokenyard report``: the cost tables, as text, JSON, CSV or a page with charts."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import httpx
from rich.console import Console

from tokenyard.analytics.client import open_client
from tokenyard.analytics.report import (
    build_report,
    http_runner,
    local_runner,
    parse_since,
    render_csv,
    render_json,
    render_tables,
)
from tokenyard.analytics.report_html import render_html
from tokenyard.errors import TokenyardError


@click.command("report")
@click.option("--since", default="24h", show_default=True, help="30m, 24h, 7d, 2w or ISO-8601.")
@click.option("--until", default=None, help="ISO-8601 end of the window (default: now).")
@click.option("--tenant", default="", help="Only this tenant.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--dsn", default=None, help="ClickHouse DSN (default: from the config).")
@click.option("--database", default=None, help="Database (default: from the config).")
@click.option(
    "--via", default=None, metavar="URL",
    help="Ask the running sink (http://127.0.0.1:PORT), which owns the chDB directory.",
)
@click.pass_obj
def report(
    obj: Any, since: str, until: str | None, tenant: str, fmt: str, out: Path | None,
    top: int, dsn: str | None, database: str | None, via: str | None,
) -> None:
    """Print what was spent, on what, for whom, and what the cache and fallbacks did."""
    now = datetime.now(UTC)
    try:
        start = parse_since(since, now)
        end = parse_since(until, now) if until else now
        if via:
            with httpx.Client(timeout=30.0) as http:
                result = build_report(http_runner(http, via), start, end, tenant, top)
        else:
            settings = obj.settings.clickhouse if obj is not None else None
            client = open_client(
                dsn or (settings.dsn if settings else "chdb://.tokenyard/chdb"),
                database or (settings.database if settings else "tokenyard"),
            )
            try:
                result = build_report(local_runner(client), start, end, tenant, top)
            finally:
                client.close()
    except TokenyardError as exc:
        click.echo(f"tokenyard report: {exc.code}: {exc.message}", err=True)
        sys.exit(1)

    if fmt == "table":
        console = Console(file=out.open("w") if out else None, width=160 if out else None)
        render_tables(result, console)
        return
    text = {"json": render_json, "csv": render_csv, "html": render_html}[fmt](result)
    if out:
        out.write_text(text)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)
