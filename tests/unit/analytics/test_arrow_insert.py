"""The Arrow insert block stores exactly what the Native column insert stored."""

from __future__ import annotations

from decimal import Decimal

from tokenyard.analytics.rows import to_arrow, to_columns
from tokenyard.schemas.records import UsageEvent


def odd_events(make_events):
    events = make_events(6)
    return events + [
        UsageEvent(
            event_id="odd:1", kind="attempt", ts_ms=1_790_000_000_123, request_id="odd",
            attempt=65_535, tenant="tënant-ü", route="chat", provider="p", model="m", status="ok",
            input_tokens=2**63 - 1, cost_usd=Decimal("0.000000001999"),  # 12 decimals: cut to 9
            cost_saved_usd=Decimal("-3.5"), similarity=0.5, latency_ms=0.0, ttft_ms=None,
            fallback_depth=255, tags={"app": "x", "team": "ü", "": ""},
        ),
        UsageEvent(
            event_id="odd:2", kind="request", ts_ms=0, request_id="odd", tenant="t", route="r",
            status="error", error_code="e", cost_usd=Decimal("999999999.999999999"), cached=True,
            cost_unknown=True,
        ),
    ]


def test_arrow_block_stores_the_same_rows_as_the_column_insert(client, make_events):
    events = odd_events(make_events)
    for table in ("via_native", "via_arrow"):
        client.command(f"CREATE TABLE {table} AS usage_events ENGINE = MergeTree ORDER BY event_id")
    client.insert_columns("via_native", to_columns(events))
    client.insert_arrow("via_arrow", to_arrow(events))

    def stored(table):
        return client.query_rows(f"SELECT * EXCEPT inserted_at FROM {table} ORDER BY event_id")

    native, arrow = stored("via_native"), stored("via_arrow")
    assert len(arrow) == len(events)
    assert arrow == native
    odd = {row["event_id"]: row for row in arrow}
    assert odd["odd:1"]["cost"] == Decimal("0.000000001")
    assert odd["odd:1"]["tags"] == {"app": "x", "team": "ü", "": ""}
    assert odd["odd:1"]["ttft_ms"] is None and odd["odd:2"]["similarity"] is None
