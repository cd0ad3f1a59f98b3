from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from tokenyard.analytics.rows import (
    COLUMNS,
    parse_usage_event,
    split_valid,
    to_columns,
    unique_by_event_id,
)
from tokenyard.errors import InvalidRequest, MalformedEvent


@pytest.fixture
def wire_event(make_events):
    def build(**overrides):
        event = make_events(2)[1].model_dump(mode="json")
        event.update(overrides)
        return event

    return build


def test_valid_event_parses_from_bytes_dict_and_model(wire_event):
    wire = wire_event()
    from_bytes = parse_usage_event(orjson.dumps(wire))
    assert from_bytes == parse_usage_event(wire) == parse_usage_event(from_bytes)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"not json", b"[1, 2]", b"null"])
def test_undecodable_values_are_malformed(raw):
    with pytest.raises(MalformedEvent):
        parse_usage_event(raw)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"kind": "bogus"}, "kind"),
        ({"input_tokens": -1}, "input_tokens"),
        ({"extra_field": 1}, "extra_field"),
        ({"cost_usd": "1000000000"}, "cost_usd"),
        ({"attempt": 70_000}, "attempt"),
        ({"fallback_depth": 300}, "fallback_depth"),
        ({"ts_ms": 20_000_000_000_000}, "ts_ms"),
        ({"event_id": ""}, "event_id"),
        ({"ttft_ms": -5}, "ttft_ms"),
    ],
)
def test_values_the_table_cannot_hold_are_invalid_with_the_field_named(overrides, fragment, wire_event):
    with pytest.raises(InvalidRequest) as caught:
        parse_usage_event(wire_event(**overrides))
    assert fragment in caught.value.message


def test_nan_latency_is_poison(make_events):
    event = make_events(2)[1].model_copy(update={"latency_ms": float("nan")})
    with pytest.raises(InvalidRequest, match="latency_ms"):
        parse_usage_event(event)


def test_split_valid_keeps_order_and_positions(wire_event):
    good_one, good_two = (wire_event(event_id="e1"), wire_event(event_id="e2"))
    good, poison = split_valid([good_one, b"{", good_two, wire_event(kind="x")], positions=[10, 11, 12, 13])
    assert [event.event_id for event in good] == ["e1", "e2"]
    assert [(row.position, row.error.code) for row in poison] == [
        (11, "malformed_event"),
        (13, "invalid_request"),
    ]
    assert poison[1].error.to_wire()["code"] == "invalid_request"  # dead-letter ready


def test_unique_by_event_id_keeps_first_copy(make_events):
    events = make_events(3)
    assert unique_by_event_id(events + events[::-1]) == events


def test_to_columns_lays_out_every_fact_column(make_events):
    events = make_events(5)
    columns = to_columns(events)
    assert tuple(columns) == COLUMNS
    assert all(len(values) == len(events) for values in columns.values())
    assert columns["cost"][1] == events[1].cost_usd == Decimal("0.002")
