"""The Anthropic provider: transforms, headers, and every fault over real sockets."""

from __future__ import annotations

import httpx
import orjson
import pytest

from tokenyard.errors import (
    BadProviderResponse,
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    StreamInterrupted,
)
from tokenyard.providers import anthropic_wire
from tokenyard.providers.anthropic import AnthropicProvider
from tokenyard.providers.base import CallTimeouts, Completion, Delta
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.factory import build_provider
from tokenyard.providers.fake_server import FakeProviderServer
from tokenyard.providers.sse import SseEvent
from tokenyard.schemas.records import Request, Usage

FAST = CallTimeouts(connect=1.0, first_byte=2.0, total=3.0)


def _request(**overrides):
    raw = {"request_id": "r", "tenant": "t", "model": "route", "reply_to": "out",
           "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "say something nice"}]}
    raw.update(overrides)
    return Request.model_validate(raw)


def _config(base_url=None, max_output=None):
    model = {"context_window": 200_000, **({"max_output_tokens": max_output} if max_output else {})}
    return ProviderConfig(kind="anthropic", api_key_env="ANTHROPIC_KEY", base_url=base_url,
                          models={"echo": model, "claude-x": model})


def test_system_moves_to_top_level_and_max_tokens_is_always_sent():
    payload = anthropic_wire.to_payload(_request(params={"stop": ["END"], "top_p": 0.9, "seed": 4}), "claude-x",
                                        default_max_tokens=1024)
    assert payload == {
        "model": "claude-x",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "say something nice"}],
        "top_p": 0.9,
        "stop_sequences": ["END"],
    }


def test_request_max_tokens_wins_over_default_and_stream_flag():
    payload = anthropic_wire.to_payload(_request(params={"max_tokens": 7}), "m", default_max_tokens=1024, stream=True)
    assert payload["max_tokens"] == 7 and payload["stream"] is True


def test_tools_and_tool_results_convert():
    tools = [{"type": "function", "function": {"name": "lookup", "description": "d", "parameters": {"type": "object"}}}]
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "calling"},
                {"role": "tool", "content": "42", "tool_call_id": "toolu_1"}]
    payload = anthropic_wire.to_payload(_request(messages=messages, tools=tools), "m", default_max_tokens=10)
    assert payload["tools"] == [{"name": "lookup", "description": "d", "input_schema": {"type": "object"}}]
    assert payload["messages"][2] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"}]}
    assert "system" not in payload


@pytest.mark.parametrize(("params", "needle"), [({"temperature": 1.5}, "temperature 1.5"), ({"response_format": "json_object"}, "JSON mode")])
def test_requests_anthropic_cannot_serve_are_refused_before_sending(params, needle):
    with pytest.raises(ProviderBadRequest, match=needle):
        anthropic_wire.to_payload(_request(params=params), "m", default_max_tokens=10)


def test_usage_counts_cache_reads_and_writes_as_input():
    body = {"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "Hi"}, {"type": "tool_use", "id": "t", "name": "x", "input": {}}],
            "stop_reason": "max_tokens", "usage": {"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 7}}
    completion = anthropic_wire.from_payload(body, "a", "m")
    assert completion.usage == Usage(input_tokens=115, output_tokens=7, cached_input_tokens=100)
    assert (completion.content, completion.finish_reason, completion.raw_id) == ("Hi", "length", "msg_1")


def test_refusal_and_unreadable_and_error_bodies():
    with pytest.raises(ContentFiltered):
        anthropic_wire.from_payload({"type": "message", "content": [], "stop_reason": "refusal"}, "a", "m")
    with pytest.raises(BadProviderResponse):
        anthropic_wire.from_payload({"type": "message"}, "a", "m")
    with pytest.raises(ProviderOverloaded):
        anthropic_wire.from_payload({"type": "error", "error": {"type": "overloaded_error", "message": "x"}}, "a", "m")


def test_assembler_needs_message_stop_and_raises_error_events():
    assembler = anthropic_wire.StreamAssembler("a", "m")
    assembler.feed_event(SseEvent("message_start", '{"type":"message_start","message":{"id":"msg","usage":{"input_tokens":3,"output_tokens":1}}}'))
    assert assembler.feed_event(SseEvent("content_block_delta", '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}')) == Delta("Hi")
    assembler.feed_event(SseEvent("message_delta", '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}'))
    with pytest.raises(StreamInterrupted, match="without message_stop"):
        assembler.finish()
    assembler.feed_event(SseEvent("something_new", '{"type":"something_new"}'))
    assembler.feed_event(SseEvent("message_stop", '{"type":"message_stop"}'))
    assert assembler.finish().usage == Usage(input_tokens=3, output_tokens=9)
    with pytest.raises(ProviderRateLimited):
        anthropic_wire.StreamAssembler("a", "m").feed_event(SseEvent("error", '{"type":"error","error":{"type":"rate_limit_error","message":"x"}}'))


async def test_headers_and_default_max_tokens_from_model_config():
    seen = {}

    def handler(request):
        seen["url"], seen["headers"], seen["body"] = str(request.url), request.headers, orjson.loads(request.content)
        return httpx.Response(200, json={"id": "m", "type": "message", "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                                         "usage": {"input_tokens": 1, "output_tokens": 1}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        provider = build_provider("claude", _config(max_output=2048), client, "sk-ant-secret")
        assert isinstance(provider, AnthropicProvider) and "sk-ant" not in repr(provider)
        completion = await provider.complete(_request(), "claude-x", FAST)
    assert seen["url"] == "https://api.anthropic.com/v1/messages"
    assert seen["headers"]["x-api-key"] == "sk-ant-secret"
    assert seen["headers"]["anthropic-version"] == "2023-06-01"
    assert "authorization" not in seen["headers"]
    assert seen["body"]["max_tokens"] == 2048
    assert completion.content == "ok"


@pytest.fixture
async def anthropic(provider_http):
    async with FakeProviderServer() as fake, provider_http as client:
        yield fake, build_provider("claude", _config(base_url=fake.anthropic_base_url), client, "sk-ant")


async def _collect(provider, model, timeouts=FAST):
    return [item async for item in provider.stream(_request(), model, timeouts)]


async def test_echo_json_and_stream_agree_over_http(anthropic):
    fake, provider = anthropic
    completion = await provider.complete(_request(), "echo", FAST)
    *deltas, final = await _collect(provider, "echo")
    assert isinstance(final, Completion) and all(isinstance(d, Delta) for d in deltas)
    assert completion.content == final.content == "".join(d.text for d in deltas) == "echo: say something nice"
    assert completion.usage == final.usage and completion.usage.input_tokens == 3 + 4 + 5 + 4 + 3
    assert completion.finish_reason == final.finish_reason == "stop"
    assert fake.calls("echo") == 2
    assert fake.last_request("echo")["system"] == "Be brief."


async def test_cache_reads_over_http(anthropic):
    _, provider = anthropic
    completion = await provider.complete(_request(), "echo-cached", FAST)
    assert completion.usage.cached_input_tokens == completion.usage.input_tokens // 2 > 0


@pytest.mark.parametrize(
    ("model", "error"),
    [("fail-429", ProviderRateLimited), ("fail-500", ProviderServerError), ("fail-503", ProviderServerError),
     ("fail-529", ProviderOverloaded), ("fail-401", ProviderAuthError), ("context-5", ContextLengthExceeded),
     ("malformed", BadProviderResponse), ("nope", ProviderBadRequest)],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_errors_over_http(anthropic, model, error, streaming):
    fake, provider = anthropic
    with pytest.raises(error) as info:
        if streaming:
            await _collect(provider, model)
        else:
            await provider.complete(_request(), model, FAST)
    assert (info.value.retry_after == 1.0) is (model == "fail-429")
    assert fake.calls(model) == 1


@pytest.mark.parametrize(("model", "error"), [("cut-after-4", StreamInterrupted), ("drop-after-4", StreamInterrupted), ("error-after-4", ProviderOverloaded)])
async def test_broken_streams_after_partial_text_never_complete(anthropic, model, error):
    _, provider = anthropic
    seen = []
    with pytest.raises(error):
        async for item in provider.stream(_request(), model, FAST):
            assert not isinstance(item, Completion)
            seen.append(item)
    assert seen == [Delta("echo: ")]


async def test_stream_without_usage_is_flagged(anthropic):
    _, provider = anthropic
    *_, final = await _collect(provider, "no-usage")
    assert final.usage_missing and final.content == "echo: say something nice"


async def test_slow_first_byte_over_http(anthropic):
    _, provider = anthropic
    with pytest.raises(ProviderTimeout) as info:
        await _collect(provider, "slow-first-byte-300", CallTimeouts(connect=1, first_byte=0.05, total=1))
    assert info.value.details["phase"] == "first_byte"
