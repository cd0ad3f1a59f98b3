"""The cost report: named queries gathered into sections, rendered as text formats.

Where rows come from is a ``QueryRunner`` (name, params) -> rows: the local
ClickHouse (``local_runner``) or the sink's query API (``http_runner``), so the
report never needs to know which process owns chDB. Rows are JSON-shaped either
way (decimals as strings), so every renderer sees the same values.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table

from tokenyard.analytics.client import AnalyticsClient
from tokenyard.analytics.queries import parse_instant
from tokenyard.analytics.query_api import fetch_query, handle_query
from tokenyard.errors import InvalidRequest

QueryRunner = Callable[[str, Mapping[str, Any]], list[dict[str, Any]]]

_RELATIVE = re.compile(r"^(\d+)\s*([mhdw])$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# (section name, title, query); cost over time picks hourly or daily by window.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("spend_by_tenant", "Spend by tenant", "spend_by_tenant"),
    ("spend_by_model", "Spend by provider and model", "spend_by_model"),
    ("cost_over_time", "Cost over time", ""),
    ("cache_by_route", "Cache hit rate and savings by route", "cache_by_route"),
    ("latency_by_model", "Latency by provider and model (ms)", "latency_by_model"),
    ("error_rates", "Error and fallback rates by route", "error_rates"),
    ("failure_cost", "Cost of failed attempts and fallbacks", "failure_cost"),
    ("top_requests", "Top requests by cost", "top_requests"),
)
HOURLY_UP_TO = timedelta(hours=72)


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    query: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Report:
    since: datetime
    until: datetime
    tenant: str
    sections: tuple[Section, ...]

    def section(self, name: str) -> Section:
        return next(section for section in self.sections if section.name == name)


def parse_since(text: str, now: datetime) -> datetime:
    """``30m``, ``24h``, ``7d``, ``2w`` before ``now``, or an ISO-8601 instant."""
    match = _RELATIVE.match(text.strip().lower())
    if match:
        return now - timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
    return parse_instant(text)


def local_runner(client: AnalyticsClient) -> QueryRunner:
    return lambda name, params: handle_query(client, name, params)


def http_runner(http: httpx.Client, base_url: str) -> QueryRunner:
    return lambda name, params: fetch_query(http, base_url, name, params)


def build_report(
    run: QueryRunner, since: datetime, until: datetime, tenant: str = "", top: int = 20
) -> Report:
    if until <= since:
        raise InvalidRequest(f"report window is empty: since {since} is not before {until}")
    window = {"since": since, "until": until}
    sections = []
    for name, title, query in SECTIONS:
        if not query:
            query = "cost_hourly" if until - since <= HOURLY_UP_TO else "cost_daily"
        params: dict[str, Any] = dict(window)
        if query != "latency_by_model":  # per provider and model, across tenants
            params["tenant"] = tenant
        if query == "top_requests":
            params["limit"] = top
        sections.append(Section(name, title, query, run(query, params)))
    return Report(since, until, tenant, tuple(sections))


def render_json(report: Report) -> str:
    return orjson.dumps(
        {
            "since": report.since.isoformat(),
            "until": report.until.isoformat(),
            "tenant": report.tenant or None,
            "sections": {
                s.name: {"title": s.title, "query": s.query, "rows": s.rows}
                for s in report.sections
            },
        },
        option=orjson.OPT_INDENT_2,
    ).decode()


def render_csv(report: Report) -> str:
    """One CSV stream: each section starts with a header row whose first cell is
    ``section``; its data rows start with the section's name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for section in report.sections:
        columns = list(section.rows[0]) if section.rows else []
        writer.writerow(["section", *columns])
        for row in section.rows:
            writer.writerow([section.name, *(_cell(row[column]) for column in columns)])
    return out.getvalue()


def render_tables(report: Report, console: Console) -> None:
    scope = f"tenant {report.tenant}" if report.tenant else "all tenants"
    console.print(
        f"[bold]tokenyard cost report[/bold]  {report.since:%Y-%m-%d %H:%M} to "
        f"{report.until:%Y-%m-%d %H:%M} UTC, {scope}"
    )
    for section in report.sections:
        if not section.rows:
            console.print(f"[bold]{section.title}[/bold]: no rows in this window")
            continue
        table = Table(title=section.title, title_justify="left", show_lines=False)
        columns = list(section.rows[0])
        for column in columns:
            table.add_column(column, justify="right" if _numeric(section, column) else "left")
        for row in section.rows:
            table.add_row(*(_cell(row[column]) for column in columns))
        console.print(table)


def _numeric(section: Section, column: str) -> bool:
    sample = next((row[column] for row in section.rows if row.get(column) is not None), None)
    if isinstance(sample, (int, float)):
        return True
    return isinstance(sample, str) and bool(re.fullmatch(r"-?\d+(\.\d+)?", sample))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d{9}", value):
        return value.rstrip("0").rstrip(".") if "." in value else value  # 0.001000000 -> 0.001
    return str(value)
