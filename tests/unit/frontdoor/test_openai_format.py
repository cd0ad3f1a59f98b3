"""The front door's bodies against the real OpenAI wire: same keys as OpenAI's own
objects (goldens), and readable by tokenyard's own OpenAI-compatible provider parser."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import orjson

from tokenyard.providers.openai_wire import StreamAssembler, from_payload
from tokenyard.schemas.records import Reply, Usage
from tokenyard.streams.frontdoor.openai_format import ChunkWriter, completion_body, reply_headers

GOLDEN = Path(__file__).parents[2] / "golden" / "providers" / "openai"

REPLY = Reply(
    request_id="abc", tenant="acme", status="ok", model="default", provider="fake", provider_model="echo",
    content="Hello! How can I help?", finish_reason="stop", created_ms=1_700_000_123_456,
    usage=Usage(input_tokens=9, output_tokens=7, cached_input_tokens=2, reasoning_tokens=1),
    cost_usd=Decimal("0.000023"),
)


def keys(value: object) -> object:
    """The key structure of a JSON value (values dropped)."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(v) for v in value[:1]]
    return None


def test_completion_has_the_keys_of_a_real_openai_chat_completion() -> None:
    real = json.loads((GOLDEN / "response_chat.json").read_text())["body"]
    assert keys(completion_body(REPLY, "default")) == keys(real)


def test_completion_reads_back_through_the_openai_parser() -> None:
    body = completion_body(REPLY, "default")
    completion = from_payload(orjson.loads(orjson.dumps(body)), "frontdoor", "default")
    assert completion.content == REPLY.content and completion.finish_reason == "stop"
    assert completion.usage == REPLY.usage and completion.raw_id == "chatcmpl-abc"
    assert body["created"] == 1_700_000_123 and body["model"] == "default"


def test_unknown_finish_reasons_read_as_stop() -> None:
    odd = REPLY.model_copy(update={"finish_reason": "unknown"})
    assert completion_body(odd, "default")["choices"][0]["finish_reason"] == "stop"
    short = REPLY.model_copy(update={"finish_reason": "length"})
    assert completion_body(short, "default")["choices"][0]["finish_reason"] == "length"


def sse_events(raw: bytes) -> list[str]:
    events = raw.decode().split("\n\n")
    assert events[-1] == ""
    assert all(e.startswith("data: ") for e in events[:-1])
    return [e[len("data: "):] for e in events[:-1]]


def test_stream_with_usage_matches_a_real_openai_stream_and_parses_back() -> None:
    writer = ChunkWriter("abc", "default", 1_700_000_000, include_usage=True)
    # the same three deltas as the golden transcript, so every event lines up
    raw = writer.role() + writer.content("Hello") + writer.content("!") + writer.content(" How can I help?")
    raw += writer.finish(REPLY)
    ours = sse_events(raw)
    real = sse_events((GOLDEN / "stream_usage.sse").read_bytes())
    assert len(ours) == len(real) and ours[-1] == real[-1] == "[DONE]"
    assert [keys(json.loads(e)) for e in ours[:-1]] == [keys(json.loads(e)) for e in real[:-1]]
    assembler = StreamAssembler("frontdoor", "default")
    deltas = [d.text for e in ours if (d := assembler.feed(e)) is not None]
    done = assembler.finish()
    assert deltas == ["Hello", "!", " How can I help?"]
    assert done.content == "Hello! How can I help?" and done.usage == REPLY.usage and done.finish_reason == "stop"


def test_stream_without_usage_has_no_usage_key_and_no_usage_chunk() -> None:
    writer = ChunkWriter("abc", "default", 1, include_usage=False)
    events = sse_events(writer.role() + writer.content("x") + writer.finish(REPLY))
    bodies = [json.loads(e) for e in events[:-1]]
    assert all("usage" not in b for b in bodies)
    assert [b["choices"][0]["finish_reason"] for b in bodies] == [None, None, "stop"]


def test_reply_headers_name_provider_cost_and_cache() -> None:
    assert reply_headers(REPLY) == {
        "x-request-id": "abc", "x-tokenyard-cached": "false", "x-tokenyard-provider": "fake",
        "x-tokenyard-provider-model": "echo", "x-tokenyard-cost-usd": "0.000023",
    }
    unknown = REPLY.model_copy(update={"cost_unknown": True, "provider": None, "provider_model": None})
    assert "x-tokenyard-cost-usd" not in reply_headers(unknown)
