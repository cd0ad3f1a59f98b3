from __future__ import annotations

from collections import Counter
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenyard.errors import ConfigError, ProviderServerError, UnknownRoute
from tokenyard.pricing import load_shipped_prices
from tokenyard.providers.breaker import BreakerState
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.router import Router, pick_arm
from tokenyard.providers.routing_config import BreakerConfig, RouteConfig, RoutingConfig

from .test_fallback import FakeClock, ScriptedProvider, ok, request

PRICES = load_shipped_prices()


def provider_config(kind="openai_compatible", **models) -> ProviderConfig:
    return ProviderConfig.model_validate(
        {
            "kind": kind,
            "base_url": "http://127.0.0.1:9",
            "api_key_env": None if kind == "openai_compatible" else "KEY",
            "models": models or {"m": {"context_window": 8000}},
        }
    )


CONFIGS = {
    "openai": provider_config("openai", **{"gpt-4o-mini": {"context_window": 128_000}}),
    "anthropic": provider_config(
        "anthropic", **{"claude-3-5-haiku-20241022": {"context_window": 200_000}}
    ),
    "local": provider_config(m={"context_window": 8000}),
}
MAIN = ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-20241022"]


def make_router(clock, routes=None, **kwargs):
    fakes = {
        "openai": ScriptedProvider("openai", clock, {"gpt-4o-mini": []}),
        "anthropic": ScriptedProvider("anthropic", clock, {"claude-3-5-haiku-20241022": []}),
        "local": ScriptedProvider("local", clock, {"m": []}),
    }
    router = Router(
        providers=CONFIGS,
        routes=routes or {"chat": RouteConfig(targets=MAIN, low_priority_targets=["local:m"])},
        provider_objects=fakes,
        prices=PRICES,
        now=clock.now,
        sleep=clock.sleep,
        random=lambda: 0.5,
        **kwargs,
    )
    return router, fakes


async def test_invoke_prices_each_attempt_with_the_provider_kind():
    clock = FakeClock()
    router, fakes = make_router(clock)
    fakes["openai"].script["gpt-4o-mini"] = [ProviderServerError("500")] * 2
    fakes["anthropic"].script["claude-3-5-haiku-20241022"] = [
        ok("anthropic", "claude-3-5-haiku-20241022", input_tokens=1000, cached_input_tokens=800,
           output_tokens=100)
    ]
    out = await router.invoke(request(), deadline_s=clock.t + 30)
    assert out.ok and out.fallback_depth == 1 and out.arm is None
    # 200 * 0.80 + 800 * 0.08 + 100 * 4.00, per million tokens
    assert out.attempts[-1].cost_usd == Decimal("0.000624")
    assert [a.cost_usd for a in out.attempts[:2]] == [0, 0]


async def test_low_priority_uses_the_cheaper_chain():
    clock = FakeClock()
    router, fakes = make_router(clock)
    fakes["local"].script["m"] = [ok("local", "m")]
    out = await router.invoke(request(priority="low"), deadline_s=clock.t + 30)
    assert out.completion.provider == "local"
    assert fakes["openai"].calls == []
    assert router.chain_for(request(priority="high"))[0][0].key == MAIN[0]


async def test_unknown_route_is_a_request_error():
    router, _ = make_router(FakeClock())
    assert router.has_route("chat") and not router.has_route("nope")
    with pytest.raises(UnknownRoute, match="nope"):
        await router.invoke(request(model="nope"), deadline_s=0)


def test_targets_carry_capabilities_and_prices_from_config():
    router, _ = make_router(FakeClock())
    chain, _ = router.chain_for(request())
    assert chain[0].context_window == 128_000
    assert chain[0].price == PRICES.lookup("openai", "gpt-4o-mini")
    assert router.unpriced_targets() == ["local:m"]


@pytest.mark.parametrize(
    ("route", "named"),
    [
        (RouteConfig(targets=["nobody:m"]), "nobody"),
        (RouteConfig(targets=["local:missing"]), "missing"),
        (RouteConfig(targets=["local:m"], low_priority_targets=["ghost:x"]), "low_priority_targets"),
    ],
)
def test_bad_targets_fail_at_build_naming_route_and_target(route, named):
    with pytest.raises(ConfigError, match=named):
        make_router(FakeClock(), routes={"bad": route})


def test_missing_provider_object_is_a_config_error():
    clock = FakeClock()
    with pytest.raises(ConfigError, match="local"):
        Router(
            providers=CONFIGS,
            routes={"r": RouteConfig(targets=["local:m"])},
            provider_objects={},
            prices=PRICES,
        )


async def test_breakers_snapshot_shows_the_open_target():
    clock = FakeClock()
    router, fakes = make_router(clock, breaker=BreakerConfig(consecutive_failures=2))
    fakes["openai"].script["gpt-4o-mini"] = [ProviderServerError("500")] * 2
    fakes["anthropic"].script["claude-3-5-haiku-20241022"] = [ok("anthropic")] * 2
    await router.invoke(request(), deadline_s=clock.t + 30)
    snap = router.breakers()
    assert snap["openai:gpt-4o-mini"].state is BreakerState.open
    assert snap["anthropic:claude-3-5-haiku-20241022"].state is BreakerState.closed
    out = await router.invoke(request(request_id="r-2"), deadline_s=clock.t + 30)
    assert len(out.attempts) == 1 and out.failures[0].reason == "breaker_open"


@given(request_id=st.text(st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=40))
def test_weighted_pick_is_deterministic_per_request_id(request_id):
    weights = {"a:x": 0.9, "b:y": 0.1}
    first = pick_arm("chat", request_id, ["a:x", "b:y"], weights)
    assert first in weights
    assert all(pick_arm("chat", request_id, ["a:x", "b:y"], weights) == first for _ in range(3))
    # Dict order does not matter, only the targets order.
    assert pick_arm("chat", request_id, ["a:x", "b:y"], {"b:y": 0.1, "a:x": 0.9}) == first


def test_weighted_pick_follows_the_weights():
    picks = Counter(pick_arm("chat", f"req-{i}", ["a:x", "b:y"], {"a:x": 0.9, "b:y": 0.1}) for i in range(20_000))
    # Binomial(20000, 0.1): sd ~ 42; 5 sd bounds keep this deterministic-safe.
    assert abs(picks["b:y"] - 2_000) < 210
    zero = Counter(pick_arm("chat", f"req-{i}", ["a:x", "b:y"], {"a:x": 1.0, "b:y": 0.0}) for i in range(2_000))
    assert zero == {"a:x": 2_000}


async def test_weighted_route_puts_the_arm_first_and_keeps_the_rest_as_fallback():
    clock = FakeClock()
    routes = {"chat": RouteConfig(targets=MAIN, weights={MAIN[0]: 0.5, MAIN[1]: 0.5})}
    router, fakes = make_router(clock, routes=routes)
    arms = Counter()
    for i in range(200):
        chain, arm = router.chain_for(request(request_id=f"r{i}"))
        assert chain[0].key == arm and {t.key for t in chain} == set(MAIN)
        arms[arm] += 1
    assert 60 < arms[MAIN[0]] < 140
    fakes["openai"].script["gpt-4o-mini"] = [ok("openai")] * 2
    fakes["anthropic"].script["claude-3-5-haiku-20241022"] = [ok("anthropic")] * 2
    rid = next(f"r{i}" for i in range(200) if router.chain_for(request(request_id=f"r{i}"))[1] == MAIN[1])
    out = await router.invoke(request(request_id=rid), deadline_s=clock.t + 30)
    assert out.arm == MAIN[1] and out.completion.provider == "anthropic"
    again = await router.invoke(request(request_id=rid), deadline_s=clock.t + 30)
    assert again.arm == out.arm


async def test_from_config_builds_only_used_providers_with_real_factory():
    routing = RoutingConfig(routes={"chat": RouteConfig(targets=["local:m"])})
    async with httpx.AsyncClient() as client:
        router = Router.from_config(
            providers=CONFIGS, routing=routing, client=client, environ={}, prices=PRICES
        )
    # openai/anthropic need keys (absent from environ) but no route uses them.
    assert router.route_names() == ["chat"]


async def test_from_settings_applies_price_overrides_over_the_shipped_table():
    from tokenyard.streams.settings import Settings

    settings = Settings.model_validate(
        {
            "providers": {"local": {"kind": "openai_compatible", "base_url": "http://127.0.0.1:9",
                                    "models": {"m": {"context_window": 8000}}}},
            "routes": {"chat": {"targets": ["local:m"]}},
            "retry": {"attempt_budget": 4},
            "prices": {"local/m": {"input": "0.5", "output": "1", "source": "ops", "as_of": "2025-08-15"}},
        }
    )
    async with httpx.AsyncClient() as client:
        router = Router.from_settings(settings, http=client, environ={})
    chain, _ = router.chain_for(request())
    assert chain[0].price.input == Decimal("0.5") and router.unpriced_targets() == []
