"""The OpenAI-compatible provider against the fake server over real sockets: every fault."""

from __future__ import annotations

import socket

import httpx
import pytest

from tokenyard.errors import (
    BadProviderResponse,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderConnectionError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    StreamInterrupted,
)
from tokenyard.providers.base import CallTimeouts, Completion, Delta
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.factory import build_provider
from tokenyard.providers.fake_server import FakeProviderServer
from tokenyard.schemas.records import Request

REQUEST = Request.model_validate(
    {"request_id": "r", "tenant": "t", "model": "route", "reply_to": "out",
     "messages": [{"role": "user", "content": "say something nice"}]}
)
FAST = CallTimeouts(connect=1.0, first_byte=2.0, total=3.0)


@pytest.fixture
async def fake():
    async with FakeProviderServer() as server:
        yield server


@pytest.fixture
def client(provider_http):
    return provider_http


def _provider(base_url, client, kind="openai_compatible"):
    cfg = ProviderConfig(kind=kind, base_url=base_url, api_key_env="K", models={"echo": {"context_window": 1000}})
    return build_provider("fake", cfg, client, "sk-test")


async def _collect(provider, model, timeouts=FAST):
    return [item async for item in provider.stream(REQUEST, model, timeouts)]


async def test_complete_echo(fake, client):
    completion = await _provider(fake.openai_base_url, client).complete(REQUEST, "echo", FAST)
    assert completion.content == "echo: say something nice"
    assert completion.usage.input_tokens == 12 and completion.usage.output_tokens == 6
    assert completion.latency_ms > 0 and fake.calls("echo") == 1


async def test_openai_kind_sends_bearer_and_max_completion_tokens(fake, client):
    request = REQUEST.model_copy(update={"params": REQUEST.params.model_copy(update={"max_tokens": 3})})
    completion = await _provider(fake.openai_base_url, client, kind="openai").complete(request, "echo", FAST)
    assert fake.last_request("echo")["max_completion_tokens"] == 3
    assert completion.finish_reason == "length"


async def test_cached_and_reasoning_tokens_reach_usage(fake, client):
    completion = await _provider(fake.openai_base_url, client).complete(REQUEST, "echo-cached", FAST)
    assert completion.usage.cached_input_tokens == 6 and completion.usage.reasoning_tokens == 8


async def test_stream_yields_deltas_then_one_completion(fake, client):
    items = await _collect(_provider(fake.openai_base_url, client), "echo")
    *deltas, final = items
    assert all(isinstance(d, Delta) for d in deltas) and len(deltas) == 4
    assert isinstance(final, Completion)
    assert "".join(d.text for d in deltas) == final.content == "echo: say something nice"
    assert final.usage.input_tokens == 12 and not final.usage_missing
    assert final.ttft_ms is not None and final.ttft_ms <= final.latency_ms


@pytest.mark.parametrize(
    ("model", "error", "retry_after"),
    [
        ("fail-429", ProviderRateLimited, 1.0),
        ("fail-500", ProviderServerError, None),
        ("fail-503", ProviderServerError, None),
        ("fail-529", ProviderOverloaded, None),
        ("fail-401", ProviderAuthError, None),
        ("fail-400", ProviderBadRequest, None),
        ("context-5", ContextLengthExceeded, None),
        ("gpt-unknown", ProviderBadRequest, None),
        ("malformed", BadProviderResponse, None),
        ("cut-after-1", BadProviderResponse, None),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_error_statuses_map_to_the_tree(fake, client, model, error, retry_after, streaming):
    provider = _provider(fake.openai_base_url, client)
    with pytest.raises(error) as info:
        if streaming and model not in ("cut-after-1",):
            await _collect(provider, model)
        else:
            await provider.complete(REQUEST, model, FAST)
    assert info.value.retry_after == retry_after
    assert "sk-test" not in str(info.value)
    assert fake.calls(model) == 1



@pytest.mark.parametrize(("model", "deltas_before_error"), [("cut-after-3", 2), ("drop-after-3", 2), ("cut-after-0", 0)])
async def test_cut_or_dropped_stream_is_interrupted_never_success(fake, client, model, deltas_before_error):
    seen = []
    with pytest.raises(StreamInterrupted) as info:
        async for item in _provider(fake.openai_base_url, client).stream(REQUEST, model, FAST):
            assert not isinstance(item, Completion), "a truncated stream must not complete"
            seen.append(item)
    assert len(seen) == deltas_before_error
    assert info.value.retriable and info.value.target == f"fake:{model}"


async def test_error_event_mid_stream_raises_the_mapped_error(fake, client):
    with pytest.raises(ProviderServerError, match="Overloaded"):
        await _collect(_provider(fake.openai_base_url, client), "error-after-2")


async def test_stream_without_usage_completes_with_usage_missing(fake, client):
    *_, final = await _collect(_provider(fake.openai_base_url, client), "no-usage")
    assert final.content == "echo: say something nice"
    assert final.usage_missing and final.usage.input_tokens == 0


async def test_malformed_stream_event_is_bad_response(fake, client):
    with pytest.raises(BadProviderResponse):
        await _collect(_provider(fake.openai_base_url, client), "malformed")


@pytest.mark.parametrize("streaming", [False, True])
async def test_slow_first_byte_times_out_in_first_byte_phase(fake, client, streaming):
    timeouts = CallTimeouts(connect=1.0, first_byte=0.05, total=2.0)
    provider = _provider(fake.openai_base_url, client)
    with pytest.raises(ProviderTimeout) as info:
        if streaming:
            await _collect(provider, "slow-first-byte-400", timeouts)
        else:
            await provider.complete(REQUEST, "slow-first-byte-400", timeouts)
    assert info.value.details["phase"] == "first_byte" and info.value.retriable


@pytest.mark.parametrize("streaming", [False, True])
async def test_slow_body_times_out_in_total_phase(fake, client, streaming):
    timeouts = CallTimeouts(connect=1.0, first_byte=0.5, total=0.1)
    provider = _provider(fake.openai_base_url, client)
    with pytest.raises(ProviderTimeout) as info:
        if streaming:
            await _collect(provider, "slow-body-400", timeouts)
        else:
            await provider.complete(REQUEST, "slow-body-400", timeouts)
    assert info.value.details["phase"] == "total"


async def test_slow_body_within_limits_succeeds(fake, client):
    *_, final = await _collect(_provider(fake.openai_base_url, client), "slow-body-30")
    assert final.content == "echo: say something nice"


async def test_connection_refused_on_a_closed_port(client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now.
    provider = _provider(f"http://127.0.0.1:{port}/v1", client)
    with pytest.raises(ProviderConnectionError) as info:
        await provider.complete(REQUEST, "echo", FAST)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    with pytest.raises(ProviderConnectionError):
        await _collect(provider, "echo")
