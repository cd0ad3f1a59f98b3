"""The front door's HTTP behaviour, over real HTTP on loopback, with a scripted backend."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaConnectionError

from tokenyard.errors import ReplyTimeout
from tokenyard.schemas.records import Chunk
from tokenyard.streams.frontdoor.app import FrontDoor
from tokenyard.streams.frontdoor.keys import KeyRing
from tokenyard.streams.frontdoor.settings import FrontDoorSettings
from tests.unit.frontdoor.backend import FakeBackend, Script, chunks, error_reply, ok_reply

KEYRING = KeyRing.from_mapping({"keys": {"sk-acme-secret": "acme", "sk-globex-secret": "globex"}})
AUTH = {"Authorization": "Bearer sk-acme-secret"}
ROUTES = ["default", "broken"]


def user(text: str = "Hi") -> dict[str, Any]:
    return {"model": "default", "messages": [{"role": "user", "content": text}]}


@contextlib.asynccontextmanager
async def serving(script: Script, **settings: Any) -> AsyncIterator[tuple[TestClient, FakeBackend, FrontDoor]]:
    backend = FakeBackend(script)
    door = FrontDoor(backend, KEYRING, ROUTES, settings=FrontDoorSettings(**settings), clock=lambda: 1000.0)
    async with TestClient(TestServer(door.app())) as client:
        yield client, backend, door


def sse_bodies(text: str) -> list[Any]:
    events = text.split("\n\n")
    assert events[-1] == "", "the stream must end with a blank line"
    return [e if e == "data: [DONE]" else json.loads(e.removeprefix("data: ")) for e in events[:-1]]


# -- non-streaming ----------------------------------------------------------------


async def test_a_completion_is_answered_in_openai_format() -> None:
    async with serving(lambda rid: [ok_reply(rid)]) as (client, backend, _):
        response = await client.post("/v1/chat/completions", json={**user(), "temperature": 0.5}, headers=AUTH)
        body = await response.json()
    assert response.status == 200
    call = backend.calls[0]
    assert body["id"] == f"chatcmpl-{call['request_id']}" and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Hello there", "refusal": None, "annotations": []}
    assert body["usage"]["total_tokens"] == 7 and body["model"] == "default"
    assert response.headers["x-request-id"] == call["request_id"]
    assert call["tenant"] == "acme" and call["model"] == "default" and call["timeout"] == 120.0
    assert call["params"].temperature == 0.5 and call["messages"][0].content == "Hi"


async def test_the_idempotency_key_becomes_a_tenant_scoped_request_id() -> None:
    async with serving(lambda rid: [ok_reply(rid)]) as (client, backend, _):
        for key, tenant in [("sk-acme-secret", "acme"), ("sk-globex-secret", "globex")]:
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "retry-42"}
            response = await client.post("/v1/chat/completions", json=user(), headers=headers)
            assert response.status == 200
        bad = await client.post("/v1/chat/completions", json=user(), headers={**AUTH, "Idempotency-Key": "no spaces"})
        error = (await bad.json())["error"]
    assert [c["request_id"] for c in backend.calls] == ["idem:acme:retry-42", "idem:globex:retry-42"]
    assert bad.status == 400 and error["param"] == "Idempotency-Key"


async def test_a_concurrent_duplicate_idempotency_key_is_409() -> None:
    async with serving(lambda rid: [ok_reply(rid)]) as (client, backend, _):
        backend.gate = asyncio.Event()
        headers = {**AUTH, "Idempotency-Key": "k1"}
        first = asyncio.ensure_future(client.post("/v1/chat/completions", json=user(), headers=headers))
        await backend.entered.wait()
        second = await client.post("/v1/chat/completions", json=user(), headers=headers)
        backend.gate.set()
        assert (await first).status == 200
        assert second.status == 409 and (await second.json())["error"]["code"] == "idempotency_key_in_use"
        again = await client.post("/v1/chat/completions", json=user(), headers=headers)
        assert again.status == 200  # once the first is done the key is free again


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "didn't provide an API key"), ({"Authorization": "Bearer sk-wrong"}, "Incorrect API key")],
)
async def test_bad_keys_get_401_and_nothing_is_published(headers: dict[str, str], message: str) -> None:
    async with serving(lambda rid: [ok_reply(rid)]) as (client, backend, _):
        response = await client.post("/v1/chat/completions", json=user(), headers=headers)
        error = (await response.json())["error"]
    assert response.status == 401 and message in error["message"]
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
    assert backend.calls == []


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        ({**user(), "model": "gpt-99"}, 404, "model_not_found", "model"),
        ({**user(), "temperature": 9}, 400, "invalid_request", "temperature"),
        ({**user(), "tools": [{"type": "function"}]}, 400, "invalid_request", "tools"),
        ({"model": "default"}, 400, "invalid_request", "messages"),
    ],
)
async def test_invalid_requests_get_openai_errors_and_nothing_is_published(
    body: dict[str, Any], status: int, code: str, param: str
) -> None:
    async with serving(lambda rid: [ok_reply(rid)]) as (client, backend, _):
        response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
        error = (await response.json())["error"]
    assert (response.status, error["code"], error["param"]) == (status, code, param)
    assert backend.calls == []


async def test_a_body_that_is_not_json_is_400() -> None:
    async with serving(lambda rid: [ok_reply(rid)]) as (client, _, _):
        response = await client.post("/v1/chat/completions", data=b"{nope", headers=AUTH)
        assert response.status == 400
        assert "could not parse the JSON body" in (await response.json())["error"]["message"]


async def test_a_body_over_the_limit_is_413() -> None:
    async with serving(lambda rid: [ok_reply(rid)], max_body_bytes=2048) as (client, backend, _):
        response = await client.post("/v1/chat/completions", json=user("x" * 5000), headers=AUTH)
        assert response.status == 413
        assert (await response.json())["error"]["code"] == "request_too_large"
        assert backend.calls == []


@pytest.mark.parametrize(
    ("code", "status", "retry_after"),
    [
        ("rate_limited", 429, "3"),
        ("budget_exceeded", 429, "3"),
        ("deadline_exceeded", 504, "3"),
        ("all_targets_failed", 502, "3"),
        ("unknown_model", 404, "3"),
        ("prompt_too_large", 400, "3"),
        ("provider_overloaded", 503, "3"),
    ],
)
async def test_error_replies_map_to_status_codes(code: str, status: int, retry_after: str) -> None:
    async with serving(lambda rid: [error_reply(rid, code, retry_after_s=2.5)]) as (client, _, _):
        response = await client.post("/v1/chat/completions", json=user(), headers=AUTH)
        error = (await response.json())["error"]
    assert response.status == status and f"it failed: {code}" in error["message"]
    assert response.headers["Retry-After"] == retry_after and response.headers["retry-after-ms"] == "2500"


async def test_a_reply_timeout_is_504_and_a_broker_outage_503() -> None:
    def timeout(rid: str) -> list[Any]:
        return [ReplyTimeout("no reply within 120s")]

    async with serving(timeout) as (client, _, _):
        response = await client.post("/v1/chat/completions", json=user(), headers=AUTH)
        assert response.status == 504 and (await response.json())["error"]["code"] == "timeout"

    async with serving(lambda rid: [KafkaConnectionError("down")]) as (client, _, _):
        response = await client.post("/v1/chat/completions", json=user(), headers=AUTH)
        error = (await response.json())["error"]
        assert response.status == 503 and error["code"] == "broker_unavailable"


# -- streaming --------------------------------------------------------------------


async def test_a_stream_is_openai_sse_with_usage_and_done() -> None:
    def script(rid: str) -> list[Any]:
        return [*chunks(rid, "Hello", " there"), ok_reply(rid)]

    body = {**user(), "stream": True, "stream_options": {"include_usage": True}}
    async with serving(script) as (client, backend, door):
        response = await client.post("/v1/chat/completions", json=body, headers=AUTH)
        events = sse_bodies(await response.text())
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    assert events[-1] == "data: [DONE]"
    chunks_ = events[:-1]
    assert [c["choices"][0]["delta"] for c in chunks_[:-1]] == [
        {"role": "assistant", "content": "", "refusal": None}, {"content": "Hello"}, {"content": " there"}, {},
    ]
    assert chunks_[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks_[-1]["choices"] == [] and chunks_[-1]["usage"]["completion_tokens"] == 2
    assert all(c["usage"] is None for c in chunks_[:-1])
    assert {c["id"] for c in chunks_} == {f"chatcmpl-{backend.calls[0]['request_id']}"}
    assert backend.calls[0]["stream"] and backend.closed_streams == 1
    assert door.observed.first_token.count(route="default") == 1


async def test_a_stream_failing_before_any_text_gets_a_real_status() -> None:
    async with serving(lambda rid: [error_reply(rid, "rate_limited", retry_after_s=4)]) as (client, _, _):
        response = await client.post("/v1/chat/completions", json={**user(), "stream": True}, headers=AUTH)
        assert response.status == 429 and response.headers["Retry-After"] == "4"
        assert (await response.json())["error"]["code"] == "rate_limit_exceeded"


@pytest.mark.parametrize(
    ("tail", "code"),
    [
        (lambda rid: [error_reply(rid, "all_targets_failed")], "all_targets_failed"),
        (lambda rid: [ReplyTimeout("stream did not finish")], "timeout"),
        (lambda rid: [Chunk(request_id=rid, seq=5, restart=True), Chunk(request_id=rid, seq=6, delta="Other")],
         "stream_interrupted"),
    ],
)
async def test_a_stream_failing_after_text_ends_with_an_error_event_and_no_done(tail: Any, code: str) -> None:
    async with serving(lambda rid: [*chunks(rid, "Partial"), *tail(rid)]) as (client, _, door):
        response = await client.post("/v1/chat/completions", json={**user(), "stream": True}, headers=AUTH)
        events = sse_bodies(await response.text())
    assert response.status == 200
    assert "data: [DONE]" not in events
    assert events[1]["choices"][0]["delta"] == {"content": "Partial"}
    assert events[-1]["error"]["code"] == code and set(events[-1]["error"]) == {"message", "type", "param", "code"}
    assert door.observed.requests.value(route="default", stream="true", outcome=code) == 1


async def test_a_restart_repeating_the_text_streams_it_once() -> None:
    def script(rid: str) -> list[Any]:
        return [
            *chunks(rid, "Hel"),
            Chunk(request_id=rid, seq=1, restart=True),
            Chunk(request_id=rid, seq=2, delta="Hello"),
            ok_reply(rid, content="Hello"),
        ]

    async with serving(script) as (client, _, _):
        response = await client.post("/v1/chat/completions", json={**user(), "stream": True}, headers=AUTH)
        events = sse_bodies(await response.text())
    texts = [e["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert "".join(t for t in texts if t) == "Hello" and events[-1] == "data: [DONE]"


async def test_a_stream_answered_by_the_reply_alone_still_streams_the_text() -> None:
    async with serving(lambda rid: [ok_reply(rid, content="from cache", cached=True)]) as (client, _, _):
        response = await client.post("/v1/chat/completions", json={**user(), "stream": True}, headers=AUTH)
        events = sse_bodies(await response.text())
    assert [e["choices"][0]["delta"] for e in events[:-1]] == [
        {"role": "assistant", "content": "", "refusal": None}, {"content": "from cache"}, {},
    ]


# -- models, metrics, unknown paths ----------------------------------------------


async def test_models_lists_the_routes_behind_auth() -> None:
    async with serving(lambda rid: []) as (client, _, _):
        listed = await client.get("/v1/models", headers=AUTH)
        one = await client.get("/v1/models/default", headers=AUTH)
        missing = await client.get("/v1/models/gpt-99", headers=AUTH)
        anonymous = await client.get("/v1/models")
        assert [m["id"] for m in (await listed.json())["data"]] == ROUTES
        assert (await one.json()) == {"id": "default", "object": "model", "created": 0, "owned_by": "tokenyard"}
        assert missing.status == 404 and (await missing.json())["error"]["code"] == "model_not_found"
        assert anonymous.status == 401


async def test_metrics_count_requests_by_route_and_outcome() -> None:
    async with serving(lambda rid: [ok_reply(rid)]) as (client, _, _):
        await client.post("/v1/chat/completions", json=user(), headers=AUTH)
        await client.post("/v1/chat/completions", json={**user(), "model": "gpt-99"}, headers=AUTH)
        await client.post("/v1/chat/completions", json=user(), headers={})
        response = await client.get("/metrics")
        text = await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'tokenyard_frontdoor_requests_total{route="default",stream="false",outcome="ok"} 1' in text
    # the caller's model string never becomes a label value
    assert 'tokenyard_frontdoor_requests_total{route="unknown",stream="false",outcome="unknown_model"} 1' in text
    assert 'tokenyard_frontdoor_requests_total{route="unknown",stream="false",outcome="unauthenticated"} 1' in text
    assert "gpt-99" not in text
    assert 'tokenyard_frontdoor_request_duration_seconds_count{route="default",stream="false"} 1' in text
    assert "tokenyard_frontdoor_in_flight_requests 0" in text


async def test_unknown_paths_and_methods_answer_in_openai_format() -> None:
    async with serving(lambda rid: []) as (client, _, _):
        missing = await client.get("/v1/embeddings")
        wrong = await client.get("/v1/chat/completions")
        assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
        assert wrong.status == 405 and (await wrong.json())["error"]["type"] == "invalid_request_error"
        assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
