"""The wire contract: records, JSON Schema files and golden examples agree."""

from __future__ import annotations

import base64
from pathlib import Path

import jsonschema
import orjson
import pytest

from tokenyard.errors import InvalidRequest, MalformedEvent
from tokenyard.schemas import export
from tokenyard.schemas.codec import decode, decode_request, dumps, salvage
from tokenyard.schemas.records import Chunk, DeadLetter, Reply, Request, UsageEvent

SCHEMA_DIR = Path(export.__file__).parent
EXAMPLES = SCHEMA_DIR / "examples"

GOLDEN = [
    ("request", Request, "request.json"),
    ("reply", Reply, "reply.json"),
    ("reply", Reply, "reply_error.json"),
    ("chunk", Chunk, "chunk.json"),
    ("usage", UsageEvent, "usage.json"),
    ("dead_letter", DeadLetter, "dead_letter.json"),
]


@pytest.mark.parametrize("name", list(export.SCHEMAS))
def test_committed_schema_files_match_the_records(name: str) -> None:
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_bytes()
    assert committed == export.render(name), f"run python -m tokenyard.schemas.export ({name})"


@pytest.mark.parametrize(("schema", "model", "example"), GOLDEN)
def test_golden_examples_validate_against_schema_and_record(schema, model, example) -> None:
    raw = (EXAMPLES / example).read_bytes()
    value = orjson.loads(raw)
    jsonschema.validate(value, orjson.loads((SCHEMA_DIR / f"{schema}.schema.json").read_bytes()))
    record = decode(model, raw)
    # Re-encoding keeps every field the example sets (None fields are dropped).
    again = orjson.loads(dumps(record))
    assert {k: v for k, v in value.items() if v is not None} == again


def test_every_event_carries_schema_version() -> None:
    for _, model, example in GOLDEN:
        record = decode(model, (EXAMPLES / example).read_bytes())
        assert orjson.loads(dumps(record))["schema_version"] == 1


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", MalformedEvent),
        (b"\xff\xfe not utf8", MalformedEvent),
        (b"{not json", MalformedEvent),
        (b"[1, 2]", MalformedEvent),
        (b'"a string"', MalformedEvent),
        (b"{}", InvalidRequest),
    ],
)
def test_undecodable_events_raise_request_errors(raw: bytes, error: type) -> None:
    with pytest.raises(error):
        decode_request(raw)


def _request(**changes):
    value = orjson.loads((EXAMPLES / "request.json").read_bytes())
    value.update(changes)
    return orjson.dumps(value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "system", "content": "only a system prompt"}]}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages"),
        ({"params": {"temperature": 7}}, "params"),
        ({"params": {"max_tokens": -5}}, "params"),
        ({"params": {"max_tokens": 10**12}}, "params"),
        ({"tenant": 42}, "tenant"),
        ({"tenant": "has spaces"}, "tenant"),
        ({"request_id": ""}, "request_id"),
        ({"reply_to": "bad topic!"}, "reply_to"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"stream": "yes please"}, "stream"),
        ({"deadline_ms": -1}, "deadline_ms"),
        ({"metadata": {"k": {"nested": True}}}, "metadata"),
    ],
)
def test_invalid_requests_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        decode_request(_request(**changes))
    assert field in info.value.message
    assert field in info.value.details["fields"]
    assert info.value.code == "invalid_request" and not info.value.retriable


def test_missing_fields_are_all_reported() -> None:
    with pytest.raises(InvalidRequest) as info:
        decode_request(b'{"request_id": "r1"}')
    for field in ("tenant", "model", "messages", "reply_to"):
        assert field in info.value.message


def test_salvage_reads_routing_fields_of_a_broken_request() -> None:
    found = salvage(_request(params={"temperature": 7}))
    assert (found.request_id, found.tenant, found.reply_to) == ("req-01J9Z3Q4W8K2M", "acme", "tokenyard.replies")


@pytest.mark.parametrize("raw", [b"\xff", b"[]", b'{"request_id": 5, "reply_to": "../etc"}', b"{"])
def test_salvage_never_returns_unusable_values(raw: bytes) -> None:
    found = salvage(raw)
    assert found.request_id is None and found.reply_to is None


def test_dead_letter_keeps_original_bytes() -> None:
    letter = decode(DeadLetter, (EXAMPLES / "dead_letter.json").read_bytes())
    assert base64.b64decode(letter.value_b64).startswith(b'{"request_id"')
