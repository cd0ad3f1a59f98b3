"""The router with the real providers against the real fake provider server (loopback
HTTP): each fault's fallback path, the outcome and the per-attempt rows.

Waits between retries are recorded, not slept, and the router's clock is frozen (so a
Retry-After hold cannot lapse on a slow machine); HTTP and its timeouts are real.
"""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from tokenyard.pricing import load_shipped_prices
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.fake_server import FakeProviderServer
from tokenyard.providers.router import Router
from tokenyard.providers.routing_config import RetryConfig, RouteConfig, RoutingConfig
from tokenyard.schemas.records import Message, Request

MODELS = [
    "echo", "echo@b", "echo-cached", "no-usage", "fail-500", "fail-429", "fail-401",
    "fail-529", "cut-after-2", "malformed", "context-200", "slow-first-byte-3000",
]
PRICES = load_shipped_prices().with_overrides(
    {
        "echo-cached": {"input": "2", "cached_input": "1", "output": "8", "source": "test", "as_of": "2025-08-15"},
        "echo": {"input": "1", "output": "2", "source": "test", "as_of": "2025-08-15"},
    }
)


@pytest.fixture
async def fake():
    async with FakeProviderServer() as server:
        yield server


@pytest.fixture
async def build(fake, provider_http):
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with provider_http as client:

        def make(routes: dict[str, list[str]], **retry) -> Router:
            providers = {
                kind: ProviderConfig.model_validate(
                    {
                        "kind": kind,
                        "base_url": fake.anthropic_base_url if kind == "anthropic" else fake.openai_base_url,
                        "api_key_env": "FAKE_KEY",
                        "timeouts": {"connect": 1, "first_byte": 1, "total": 3},
                        "models": {
                            m: {"context_window": 100 if m == "context-200" else 100_000,
                                "capabilities": {"json_mode": True}}
                            for m in MODELS
                        },
                    }
                )
                for kind in ("openai", "anthropic")
            }
            routing = RoutingConfig(
                routes={name: RouteConfig(targets=targets) for name, targets in routes.items()},
                retry=RetryConfig(**({"min_attempt_s": 0.1} | retry)),
            )
            router = Router.from_config(
                providers=providers, routing=routing, client=client,
                environ={"FAKE_KEY": "sk-test"}, prices=PRICES, sleep=record_sleep,
                now=lambda: FROZEN_NOW,
            )
            router.sleeps = sleeps  # type: ignore[attr-defined]
            return router

        yield make


def req(content: str = "hello there", **kw) -> Request:
    return Request(
        request_id=kw.pop("request_id", "r-1"), tenant="t", model="chat", reply_to="replies",
        messages=[Message(role="user", content=content)], **kw,
    )


FROZEN_NOW = 1_750_000_000.0


def deadline(seconds: float = 10) -> float:
    return FROZEN_NOW + seconds


async def test_500_retries_then_falls_back(build, fake):
    router = build({"chat": ["openai:fail-500", "anthropic:echo"]})
    out = await router.invoke(req(), deadline_s=deadline())
    assert out.ok and out.completion.content == "echo: hello there"
    assert [a.status for a in out.attempts] == ["provider_server_error"] * 2 + ["ok"]
    assert fake.calls("fail-500") == 2 and fake.calls("echo") == 1
    assert out.attempts[-1].cost_usd is not None and out.attempts[-1].cost_usd > 0


async def test_429_retry_after_is_waited_then_fallback(build, fake):
    router = build({"chat": ["openai:fail-429", "openai:echo"]})
    out = await router.invoke(req(), deadline_s=deadline())
    assert [a.status for a in out.attempts] == ["provider_rate_limited"] * 2 + ["ok"]
    assert out.failures[0].retry_after == 1.0 and router.sleeps == [1.0]
    # The target is now held for the Retry-After: the next request skips it.
    again = await router.invoke(req(request_id="r-2"), deadline_s=deadline())
    assert again.failures[0].code == "target_skipped" and fake.calls("fail-429") == 2


async def test_401_stops_the_chain(build, fake):
    router = build({"chat": ["openai:fail-401", "openai:echo"]})
    out = await router.invoke(req(), deadline_s=deadline())
    assert not out.ok and out.stopped_by.code == "provider_auth_error"
    assert fake.calls("echo") == 0
    assert "openai:fail-401: provider_auth_error" in out.error.message


async def test_anthropic_529_is_overloaded_and_falls_through(build, fake):
    router = build({"chat": ["anthropic:fail-529", "openai:echo"]})
    out = await router.invoke(req(), deadline_s=deadline())
    assert [a.status for a in out.attempts] == ["provider_overloaded"] * 2 + ["ok"]


async def test_stream_cut_restarts_on_the_next_target(build, fake):
    router = build({"chat": ["openai:cut-after-2", "anthropic:echo"]}, max_attempts_per_target=1)
    chunks: list[tuple[int, str, bool]] = []

    async def on_chunk(seq: int, text: str, restart: bool) -> None:
        chunks.append((seq, text, restart))

    out = await router.invoke(req(stream=True), deadline_s=deadline(), on_chunk=on_chunk)
    assert out.ok and out.restarts == 1
    restart_at = next(i for i, c in enumerate(chunks) if c[2])
    assert restart_at > 0  # some partial text went out first
    assert "".join(c[1] for c in chunks[restart_at + 1:]) == out.completion.content == "echo: hello there"
    assert [c[0] for c in chunks] == list(range(len(chunks)))
    assert out.attempts[0].status == "stream_interrupted" and out.attempts[0].cost_usd is None


async def test_context_window_skip_without_sending(build, fake):
    router = build({"chat": ["openai:context-200", "openai:echo"]})
    out = await router.invoke(req("x" * 2000), deadline_s=deadline())
    assert out.ok and fake.calls("context-200") == 0
    assert out.failures[0].reason == "context_window"


async def test_malformed_body_is_bad_response_then_fallback(build, fake):
    router = build({"chat": ["openai:malformed", "openai:echo"]})
    out = await router.invoke(req(), deadline_s=deadline())
    assert [a.status for a in out.attempts][-1] == "ok"
    assert out.attempts[0].status == "provider_bad_response"


async def test_slow_first_byte_times_out_within_the_deadline(build, fake):
    router = build({"chat": ["openai:slow-first-byte-3000", "openai:echo"]}, max_attempts_per_target=1)
    started = time.monotonic()
    out = await router.invoke(req(), deadline_s=deadline(10))
    assert out.attempts[0].status == "provider_timeout" and out.ok
    assert time.monotonic() - started < 2.5  # first_byte timeout is 1 s


async def test_missing_usage_is_cost_unknown_and_cached_tokens_priced(build, fake):
    router = build({"chat": ["openai:no-usage"], "cached": ["openai:echo-cached"]})
    out = await router.invoke(req(), deadline_s=deadline())
    assert out.ok and out.cost_unknown
    cached = await router.invoke(req().model_copy(update={"model": "cached"}), deadline_s=deadline())
    usage = cached.completion.usage
    assert usage.cached_input_tokens > 0
    expected = (
        (usage.input_tokens - usage.cached_input_tokens) * Decimal(2)
        + usage.cached_input_tokens * Decimal(1)
        + usage.output_tokens * Decimal(8)
    ) / Decimal(1_000_000)
    assert cached.cost_usd == expected and not cached.cost_unknown
