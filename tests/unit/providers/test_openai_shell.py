"""The OpenAI shell over httpx.MockTransport: URL, headers, error mapping, no key leaks."""

from __future__ import annotations

import httpx
import orjson
import pytest

from tokenyard.errors import BadProviderResponse, ProviderConnectionError, ProviderRateLimited, ProviderTimeout
from tokenyard.providers.base import CallTimeouts
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.factory import build_provider
from tokenyard.providers.openai import OpenAICompatibleProvider, OpenAIProvider
from tokenyard.schemas.records import Request

REQUEST = Request.model_validate(
    {"request_id": "r", "tenant": "t", "model": "x", "reply_to": "out",
     "messages": [{"role": "user", "content": "Hi"}], "params": {"max_tokens": 9}}
)
OK_BODY = {"id": "c", "choices": [{"index": 0, "message": {"role": "assistant", "content": "yo"}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
TIMEOUTS = CallTimeouts(connect=1, first_byte=1, total=2)


def _provider(handler, kind="openai", key="sk-abc"):
    cfg = ProviderConfig.model_validate(
        {"kind": kind, "api_key_env": "K", "headers": {"x-team": "a"}, "models": {"gpt-x": {"context_window": 1000}},
         **({"base_url": "http://llm.local/v1"} if kind == "openai_compatible" else {})}
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    clock = iter(range(0, 100, 2))
    return build_provider("main", cfg, client, key, clock=lambda: next(clock) / 10)


async def test_openai_call_url_headers_payload_and_latency():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["headers"] = request.headers
        seen["payload"] = orjson.loads(request.content)
        return httpx.Response(200, json=OK_BODY)

    provider = _provider(handler)
    assert isinstance(provider, OpenAIProvider)
    completion = await provider.complete(REQUEST, "gpt-x", TIMEOUTS)
    assert seen["url"] == "https://api.openai.com/v1/chat/completions"
    assert seen["headers"]["authorization"] == "Bearer sk-abc"
    assert seen["headers"]["x-team"] == "a"
    assert seen["payload"]["max_completion_tokens"] == 9
    assert completion.content == "yo" and completion.usage.input_tokens == 3
    assert completion.latency_ms == pytest.approx(200.0)
    assert "sk-abc" not in repr(provider)


async def test_compatible_server_without_key_sends_no_auth_and_max_tokens():
    seen = {}

    def handler(request):
        seen["headers"], seen["payload"] = request.headers, orjson.loads(request.content)
        return httpx.Response(200, json=OK_BODY)

    provider = _provider(handler, kind="openai_compatible", key=None)
    assert type(provider) is OpenAICompatibleProvider
    await provider.complete(REQUEST, "gpt-x", TIMEOUTS)
    assert "authorization" not in seen["headers"]
    assert seen["payload"]["max_tokens"] == 9


async def test_rate_limit_maps_with_retry_after():
    provider = _provider(lambda r: httpx.Response(429, headers={"retry-after": "3"}, json={"error": {"message": "slow"}}))
    with pytest.raises(ProviderRateLimited) as info:
        await provider.complete(REQUEST, "gpt-x", TIMEOUTS)
    assert info.value.retry_after == 3.0 and info.value.target == "main:gpt-x"


@pytest.mark.parametrize("body", [b"{not json", b"[1]"])
async def test_unreadable_2xx_is_bad_response(body):
    provider = _provider(lambda r: httpx.Response(200, content=body))
    with pytest.raises(BadProviderResponse):
        await provider.complete(REQUEST, "gpt-x", TIMEOUTS)


async def test_httpx_errors_never_escape():
    def refuse(request):
        raise httpx.ConnectError("refused sk-abc", request=request)

    with pytest.raises(ProviderConnectionError) as info:
        await _provider(refuse).complete(REQUEST, "gpt-x", TIMEOUTS)
    assert "sk-abc" not in info.value.message
    assert isinstance(info.value.__cause__, httpx.ConnectError)

    def connect_timeout(request):
        raise httpx.ConnectTimeout("slow", request=request)

    with pytest.raises(ProviderTimeout) as info:
        await _provider(connect_timeout).complete(REQUEST, "gpt-x", TIMEOUTS)
    assert info.value.details["phase"] == "connect"

    def read_timeout(request):
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ProviderTimeout) as info:
        await _provider(read_timeout).complete(REQUEST, "gpt-x", TIMEOUTS)
    assert info.value.details["phase"] == "first_byte"
