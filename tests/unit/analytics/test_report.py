from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import orjson
import pytest
from rich.console import Console

from tokenyard.analytics.query_api import QUERY_PATH, handle_query
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
from tokenyard.analytics.sink import UsageWriter
from tokenyard.errors import InvalidRequest, RemoteError, TokenyardError

SINCE = datetime(2026, 9, 21, tzinfo=UTC)
UNTIL = datetime(2026, 9, 22, tzinfo=UTC)


@pytest.fixture
def loaded(client, make_events):
    events = make_events(30)
    UsageWriter(client).write(events)
    return client, events


def test_parse_since_relative_and_iso():
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)
    assert parse_since("24h", now) == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 11, 19, 12, tzinfo=UTC)
    assert parse_since("30m", now) == datetime(2026, 11, 26, 11, 30, tzinfo=UTC)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_since("2026-11-01T02:00:00+02:00", now) == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(InvalidRequest, match="yesterday"):
        parse_since("yesterday", now)


def test_report_sections_hold_the_exact_totals(loaded):
    client, events = loaded
    report = build_report(local_runner(client), SINCE, UNTIL)
    spend = sum(Decimal(row["cost_usd"]) for row in report.section("spend_by_tenant").rows)
    assert spend == sum(e.cost_usd for e in events if e.kind == "attempt")
    over_time = report.section("cost_over_time")
    assert over_time.query == "cost_hourly"
    assert sum(Decimal(row["cost_usd"]) for row in over_time.rows) == spend
    assert len(report.section("top_requests").rows) == 20


def test_a_long_window_reports_cost_per_day(loaded):
    client, _ = loaded
    report = build_report(local_runner(client), SINCE, datetime(2026, 10, 21, tzinfo=UTC))
    assert report.section("cost_over_time").query == "cost_daily"


def test_tenant_filter_narrows_every_tenant_aware_section(loaded):
    client, events = loaded
    report = build_report(local_runner(client), SINCE, UNTIL, tenant="t1")
    assert [row["tenant"] for row in report.section("spend_by_tenant").rows] == ["t1"]
    assert {row["tenant"] for row in report.section("top_requests").rows} == {"t1"}


def test_empty_window_is_refused(loaded):
    with pytest.raises(InvalidRequest, match="empty"):
        build_report(local_runner(loaded[0]), UNTIL, SINCE)


def test_json_and_csv_parse_back(loaded):
    client, events = loaded
    report = build_report(local_runner(client), SINCE, UNTIL)
    by_tenant: dict[str, Decimal] = {}
    for event in events:
        if event.kind == "attempt":
            by_tenant[event.tenant] = by_tenant.get(event.tenant, Decimal(0)) + event.cost_usd
    as_json = orjson.loads(render_json(report))
    assert {
        row["tenant"]: Decimal(row["cost_usd"])
        for row in as_json["sections"]["spend_by_tenant"]["rows"]
    } == by_tenant
    rows = list(csv.reader(io.StringIO(render_csv(report))))
    headers = [row for row in rows if row[0] == "section"]
    assert len(headers) == len(report.sections)
    assert headers[0][:3] == ["section", "tenant", "cost_usd"]
    tenant_rows = [row for row in rows if row[0] == "spend_by_tenant"]
    assert {row[1]: Decimal(row[2]) for row in tenant_rows} == by_tenant


def test_html_is_self_contained_with_svg_charts(loaded):
    page = render_html(build_report(local_runner(loaded[0]), SINCE, UNTIL))
    assert page.count("<svg") == 5
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert "Spend by tenant" in page and "Latency by provider:model" in page


def test_html_and_tables_render_an_empty_window(client):
    report = build_report(local_runner(client), SINCE, UNTIL)
    assert "no data in this window" in render_html(report)
    console = Console(file=io.StringIO(), width=200)
    render_tables(report, console)
    assert "Spend by tenant" in console.file.getvalue()


def test_tables_render_every_section(loaded):
    console = Console(file=io.StringIO(), width=240)
    render_tables(build_report(local_runner(loaded[0]), SINCE, UNTIL), console)
    text = console.file.getvalue()
    assert "Top requests by cost" in text and "0.016" in text


def _api(client):
    """The sink's HTTP endpoint, as the lead's query view serves it, in memory."""

    def serve(request: httpx.Request) -> httpx.Response:
        name = request.url.path.split("/")[-2]
        try:
            rows = handle_query(client, name, dict(request.url.params))
        except TokenyardError as exc:
            return httpx.Response(503 if exc.retriable else 400, json={"error": exc.to_wire()})
        return httpx.Response(200, json={"rows": rows})

    return httpx.Client(transport=httpx.MockTransport(serve))


def test_report_via_http_equals_report_from_the_directory(loaded):
    client, _ = loaded
    with _api(client) as http:
        remote = build_report(http_runner(http, "http://127.0.0.1:6067"), SINCE, UNTIL)
    assert remote == build_report(local_runner(client), SINCE, UNTIL)
    assert QUERY_PATH == "/analytics/query/{name}/"


def test_http_errors_come_back_as_remote_errors(loaded):
    with _api(loaded[0]) as http, pytest.raises(RemoteError) as caught:
        http_runner(http, "http://x")("no_such_query", {})
    assert caught.value.code == "invalid_request" and "no_such_query" in caught.value.message
