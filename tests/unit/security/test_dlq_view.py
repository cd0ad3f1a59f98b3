"""The pure side of `tokenyard dlq`: parsing letters, filters, replay choice, display."""

from __future__ import annotations

import base64

import orjson
import pytest

from tokenyard.schemas.records import DeadLetter, ErrorInfo
from tokenyard.streams.dlq import (
    StoredLetter,
    Unreadable,
    choose_for_replay,
    describe_bytes,
    parse_record,
    parse_since,
    select,
)

NOW_MS = 1_800_000_000_000


def letter(offset: int, code: str = "invalid_request", ts_ms: int = NOW_MS, value: bytes = b"{}",
           key: bytes | None = b"acme", partition: int = 0) -> StoredLetter:
    record = DeadLetter(
        ts_ms=ts_ms, source_topic="t.requests", value_b64=base64.b64encode(value).decode(),
        key_b64=None if key is None else base64.b64encode(key).decode(), request_id=f"r{offset}",
        tenant="acme", error=ErrorInfo(code=code, message=f"problem {offset}"),
    )
    parsed = parse_record(partition, offset, orjson.dumps(record.model_dump(mode="json", exclude_none=True)))
    assert isinstance(parsed, StoredLetter)
    return parsed


def test_a_letter_gives_back_the_original_bytes_and_key() -> None:
    stored = letter(3, value=b"\xff\xfe not utf-8", key=b"k")
    assert stored.original_value() == b"\xff\xfe not utf-8" and stored.original_key() == b"k"
    assert letter(4, key=None).original_key() is None
    assert stored.to_json()["dlq_offset"] == 3 and stored.to_json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "empty record"),
        (b"{nope", "not JSON"),
        (orjson.dumps({"ts_ms": 1}), "not a dead letter"),
        (orjson.dumps({"ts_ms": 1, "source_topic": "x", "value_b64": "***", "error": {"code": "c", "message": "m"}}),
         "bad base64"),
    ],
)
def test_records_that_are_not_dead_letters_are_reported_not_raised(value, reason) -> None:
    parsed = parse_record(0, 9, value)
    assert isinstance(parsed, Unreadable) and parsed.offset == 9 and reason in parsed.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", NOW_MS - 30_000),
        ("15m", NOW_MS - 900_000),
        ("2h", NOW_MS - 7_200_000),
        ("1d", NOW_MS - 86_400_000),
        ("1700000000000", 1_700_000_000_000),
        ("2027-01-15T08:00:00", 1_800_000_000_000),  # no zone: UTC
        ("2027-01-15T08:00:00+01:00", 1_800_000_000_000 - 3_600_000),
    ],
)
def test_since_accepts_durations_times_and_epoch_ms(text: str, expected: int) -> None:
    assert parse_since(text, NOW_MS) == expected


def test_since_rejects_anything_else_with_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="not a duration .* ISO 8601 .* epoch milliseconds"):
        parse_since("yesterday", NOW_MS)


def test_select_filters_by_code_and_time_and_keeps_the_newest() -> None:
    letters = [letter(0, ts_ms=NOW_MS - 50), letter(1, "unknown_model", NOW_MS - 40),
               letter(2, ts_ms=NOW_MS - 30), letter(3, ts_ms=NOW_MS - 20)]
    assert [s.offset for s in select(letters, code="invalid_request")] == [0, 2, 3]
    assert [s.offset for s in select(letters, since_ms=NOW_MS - 40)] == [1, 2, 3]
    assert [s.offset for s in select(letters, code="invalid_request", limit=2)] == [2, 3]
    assert select(letters, limit=0) == []


def test_replay_choice_needs_exactly_one_selector() -> None:
    letters = [letter(0), letter(1, "unknown_model"), letter(2)]
    assert [s.offset for s in choose_for_replay(letters, offsets=[2, 0])] == [2, 0]
    assert [s.offset for s in choose_for_replay(letters, code="unknown_model")] == [1]
    assert len(choose_for_replay(letters, everything=True)) == 3
    with pytest.raises(ValueError, match="exactly one"):
        choose_for_replay(letters)
    with pytest.raises(ValueError, match="exactly one"):
        choose_for_replay(letters, code="x", everything=True)
    with pytest.raises(LookupError, match="partition 0, offset 7"):
        choose_for_replay(letters, offsets=[7])
    with pytest.raises(LookupError):
        choose_for_replay(letters, offsets=[0], partition=1)


def test_original_bytes_are_shown_as_json_text_or_hex() -> None:
    assert describe_bytes(b'{"b":1,"a":[2]}') == '{\n  "b": 1,\n  "a": [\n    2\n  ]\n}'
    assert describe_bytes(b"{broken").startswith("{broken\n(not JSON")
    hexed = describe_bytes(b"\xff\xfe" * 300)
    assert hexed.startswith("00000000  ff fe ff fe") and "88 more bytes" in hexed and "not UTF-8" in hexed
    assert describe_bytes(None) == "(none)" and describe_bytes(b"") == "(empty)"


def test_table_rows_flatten_and_shorten_messages() -> None:
    stored = letter(5)
    row = stored.row(with_partition=False, message_width=8)
    assert row[0] == "5" and row[3] == "invalid_request" and row[-1] == "problem…"
    assert letter(5, partition=2).row(with_partition=True)[0] == "2/5"
