"""Golden wire files lock both directions of the OpenAI and Anthropic transforms."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest

from tokenyard.errors import ProviderError
from tokenyard.providers import anthropic_wire, openai_wire
from tokenyard.providers.http_failures import error_from_response
from tokenyard.providers.sse import SseDecoder
from tokenyard.schemas.records import Request

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "providers"
WIRES = {"openai": openai_wire, "anthropic": anthropic_wire}


def _cases(pattern: str) -> list[Path]:
    found = sorted(GOLDEN.glob(f"*/{pattern}"))
    assert found, f"no golden files match {pattern}"
    return found


def _load(path: Path) -> dict:
    return orjson.loads(path.read_bytes())


def _ids(paths: list[Path]) -> list[str]:
    return [f"{p.parent.name}/{p.name}" for p in paths]


def _completion_dict(completion) -> dict:
    raw = dataclasses.asdict(completion)
    raw["usage"] = completion.usage.model_dump()
    return {k: raw[k] for k in ("content", "finish_reason", "usage", "raw_id", "usage_missing")}


REQUESTS = _cases("request_*.json")


@pytest.mark.parametrize("path", REQUESTS, ids=_ids(REQUESTS))
def test_request_becomes_exact_payload(path):
    case = _load(path)
    request = Request.model_validate(case["request"])
    if path.parent.name == "openai":
        payload = openai_wire.to_payload(request, case["model"], stream=case["stream"], max_tokens_field=case["max_tokens_field"])
    else:
        payload = anthropic_wire.to_payload(request, case["model"], stream=case["stream"], default_max_tokens=case["default_max_tokens"])
    assert payload == case["payload"]


RESPONSES = _cases("response_*.json")


@pytest.mark.parametrize("path", RESPONSES, ids=_ids(RESPONSES))
def test_response_becomes_exact_completion(path):
    case = _load(path)
    wire = WIRES[path.parent.name]
    if "error" in case:
        with pytest.raises(ProviderError) as info:
            wire.from_payload(case["body"], "p", "m")
        assert info.value.code == case["error"]
        return
    assert _completion_dict(wire.from_payload(case["body"], "p", "m")) == case["completion"]


STREAMS = _cases("stream_*.sse")


@pytest.mark.parametrize("path", STREAMS, ids=_ids(STREAMS))
def test_sse_transcript_becomes_deltas_and_completion(path):
    expected = _load(path.with_name(path.name.replace(".sse", ".expected.json")))
    assembler = WIRES[path.parent.name].StreamAssembler("p", "m")
    decoder = SseDecoder()
    deltas: list[str] = []
    try:
        for line in path.read_text().splitlines():
            event = decoder.feed_line(line)
            if event is not None and (delta := assembler.feed_event(event)) is not None:
                deltas.append(delta.text)
        if (tail := decoder.flush()) is not None:
            assembler.feed_event(tail)
        completion = assembler.finish()
    except ProviderError as error:
        assert error.code == expected["error"]
        assert deltas == expected["deltas"]
        return
    assert "error" not in expected, "the transcript should have failed"
    assert deltas == expected["deltas"]
    assert _completion_dict(completion) == expected["completion"]


ERRORS = _cases("error_*.json")


@pytest.mark.parametrize("path", ERRORS, ids=_ids(ERRORS))
def test_error_answer_maps_to_code_and_retry_after(path):
    case = _load(path)
    error = error_from_response(
        case["status"], case["headers"], orjson.dumps(case["body"]), provider="p", model="m", now=case.get("now", 0.0)
    )
    assert error.code == case["error"]
    assert error.retry_after == (pytest.approx(case["retry_after"]) if case["retry_after"] is not None else None)
