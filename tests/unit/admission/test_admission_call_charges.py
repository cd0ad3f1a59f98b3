"""Fallback and in-place retry calls are charged to the provider account they hit.

The router and its OpenAI-compatible providers call the fake provider over loopback
HTTP; admission is the real stage, its quota owner the real LeaseLedger in-process.
Accounts "main" and "spare" are two API keys on the fake.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx
import pytest

from tests.unit.admission.quota_fakes import InProcessQuota, MemoryStates, WindowStartClock
from tokenyard.admission.config import AdmissionConfig
from tokenyard.agents.admission import AdmissionStage, Ticket
from tokenyard.agents.quota import first_target_account
from tokenyard.pricing import load_shipped_prices
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.fake_server import FakeProviderServer
from tokenyard.providers.router import Router
from tokenyard.providers.routing_config import RetryConfig, RouteConfig, RoutingConfig
from tokenyard.schemas.records import Message, Request

WINDOW_S = 60.0  # so rpm = calls per window
_ids = itertools.count()


@pytest.fixture
async def fake():
    async with FakeProviderServer() as server:
        yield server


@pytest.fixture
async def world(fake):
    clock = WindowStartClock(WINDOW_S)

    async with httpx.AsyncClient() as client:
        def make(*, main: int, spare: int, retries: int = 1):
            models = {m: {"context_window": 100_000} for m in ("fail-500@main", "echo@main", "echo@spare")}
            providers = {
                name: ProviderConfig.model_validate({
                    "kind": "openai_compatible", "base_url": fake.openai_base_url, "models": models,
                    "timeouts": {"connect": 1, "first_byte": 2, "total": 3},
                })
                for name in ("main", "spare")
            }
            routing = RoutingConfig(
                routes={
                    "fallback": RouteConfig(targets=["main:fail-500@main", "spare:echo@spare"]),
                    "direct": RouteConfig(targets=["spare:echo@spare"]),
                },
                retry=RetryConfig(max_attempts_per_target=retries, min_attempt_s=0.1, base_delay_s=0.01),
            )
            router = Router.from_config(providers=providers, routing=routing, client=client, environ={},
                                        prices=load_shipped_prices(), now=clock)
            config = AdmissionConfig.model_validate({
                "accounts": {
                    "main": {"rpm": main, "window_s": WINDOW_S, "lease_fraction": 1.0},
                    "spare": {"rpm": spare, "window_s": WINDOW_S, "lease_fraction": 1.0},
                },
            })
            quota = InProcessQuota(config, clock=clock)
            admission = AdmissionStage(config=config, states=MemoryStates(), quota=quota, clock=clock,
                                       account_of=first_target_account(router.chain_for))
            router.gate_calls(admission.permit_call)
            return router, admission, quota, clock

        yield make


def request(route: str, clock) -> Request:
    return Request(request_id=f"r{next(_ids)}", tenant="t", model=route, reply_to="replies",
                   messages=[Message(role="user", content="hi")], params={"max_tokens": 10},
                   deadline_ms=int((clock() + 30) * 1000))


async def serve(router: Router, admission: AdmissionStage, req: Request, clock):
    """What the gateway does: admit, invoke, then settle and observe."""
    ticket = await admission.decide(req, 0, wait_until=clock() + 1.0)
    assert isinstance(ticket, Ticket), ticket
    outcome = await router.invoke(req, deadline_s=clock() + 10)
    await admission.observe(ticket, list(outcome.attempts))
    return outcome


async def test_a_fallback_call_takes_quota_from_the_account_it_hits(world, fake) -> None:
    router, admission, quota, clock = world(main=10, spare=10)
    outcome = await serve(router, admission, request("fallback", clock), clock)
    assert outcome.ok and [a.provider for a in outcome.attempts] == ["main", "spare"]
    # main: the admitted call; spare: the fallback, charged when it was made
    assert quota.ledgers["main"].granted_requests == 10 and quota.get("main").quota.requests == 9
    assert quota.ledgers["spare"].granted_requests == 10 and quota.get("spare").quota.requests == 9
    assert admission.calls.open_requests() == 0  # settled


async def test_with_no_quota_left_on_its_account_the_fallback_target_is_skipped(world, fake) -> None:
    router, admission, quota, clock = world(main=10, spare=3)
    for _ in range(3):  # direct requests use the spare account's whole window
        assert (await serve(router, admission, request("direct", clock), clock)).ok
    calls_before = fake.calls("echo@spare")
    outcome = await serve(router, admission, request("fallback", clock), clock)
    assert not outcome.ok and fake.calls("echo@spare") == calls_before  # never sent: the limit holds
    skipped = outcome.failures[-1]
    assert skipped.code == "target_skipped" and skipped.details["reason"] == "account_quota"
    assert skipped.retriable and 0 < skipped.retry_after <= WINDOW_S
    assert "provider account 'spare' has no quota left" in outcome.error.message
    assert admission.calls.refused == 1


async def test_in_place_retries_stop_at_their_accounts_limit(world, fake) -> None:
    router, admission, quota, clock = world(main=2, spare=10, retries=5)
    outcome = await serve(router, admission, request("fallback", clock), clock)
    # five tries allowed per target, but the main account has two calls this window:
    # the admitted one and one retry; then the route falls through to spare
    assert [a.provider for a in outcome.attempts] == ["main", "main", "spare"] and outcome.ok
    assert fake.calls("fail-500@main") == 2


async def test_an_unused_charge_goes_back_to_its_window(world, fake) -> None:
    router, admission, quota, clock = world(main=10, spare=10)
    req = request("fallback", clock)
    ticket = await admission.decide(req, 0, wait_until=clock() + 1.0)
    assert quota.get("main").quota.requests == 9
    await admission.observe(ticket, [])  # e.g. every target was skipped before any call
    assert quota.get("main").quota.requests == 10


async def test_concurrent_fallbacks_never_exceed_the_spare_account(world, fake) -> None:
    router, admission, quota, clock = world(main=40, spare=5)
    outcomes = await asyncio.gather(*(serve(router, admission, request("fallback", clock), clock)
                                      for _ in range(12)))
    assert fake.calls("echo@spare") == 5 == sum(o.ok for o in outcomes)
    assert quota.ledgers["spare"].granted_requests <= 5
    assert all(o.failures[-1].details.get("reason") == "account_quota" for o in outcomes if not o.ok)
