"""Rate-limit headers from the provider's answers reach admission's adaptive rate.

The providers are the real OpenAI and Anthropic shells calling the fake provider over
loopback HTTP (``remaining-<n>`` answers with headers saying <n> of 100 requests
are left, reset in 1 s); admission is the real stage with the in-process quota owner.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.unit.admission.quota_fakes import InProcessQuota, MemoryStates
from tokenyard.admission.accounts import LeaseLedger
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AdmissionConfig, AimdPolicy
from tokenyard.admission.quota_flow import serve_quota_message
from tokenyard.admission.quota_messages import RateReport, decode, encode
from tokenyard.agents.admission import AdmissionStage
from tokenyard.pricing import load_shipped_prices
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.fake_server import FakeProviderServer
from tokenyard.providers.http_call import rate_limit_headers
from tokenyard.providers.router import Router
from tokenyard.providers.routing_config import RetryConfig, RouteConfig, RoutingConfig
from tokenyard.schemas.records import Message, Request

MODELS = ["remaining-3", "remaining-0", "remaining-60", "fail-429"]


def test_only_rate_limit_headers_are_kept() -> None:
    answer = {
        "Content-Type": "application/json", "Set-Cookie": "session=secret", "Authorization": "Bearer sk-x",
        "x-api-key": "sk-ant-x", "x-request-id": "req_1", "X-RateLimit-Remaining-Requests": "3",
        "x-ratelimit-reset-tokens": "6m0s", "anthropic-ratelimit-tokens-remaining": "10", "Retry-After": "2",
        "retry-after-ms": "1500", "x-ratelimit-remaining-requests-evil": "x" * 500,
    }
    kept = rate_limit_headers(answer)
    assert set(kept) == {
        "x-ratelimit-remaining-requests", "x-ratelimit-reset-tokens", "anthropic-ratelimit-tokens-remaining",
        "retry-after", "retry-after-ms", "x-ratelimit-remaining-requests-evil",
    }
    assert len(kept["x-ratelimit-remaining-requests-evil"]) == 64  # bounded
    many = {f"x-ratelimit-custom-{n}": "1" for n in range(100)}
    assert len(rate_limit_headers(many)) == 24


@pytest.fixture
async def router():
    async with FakeProviderServer() as fake, httpx.AsyncClient() as client:
        providers = {
            name: ProviderConfig.model_validate({
                "kind": kind,
                "base_url": fake.anthropic_base_url if kind == "anthropic" else fake.openai_base_url,
                "api_key_env": "FAKE_KEY",
                "timeouts": {"connect": 1, "first_byte": 2, "total": 3},
                "models": {m: {"context_window": 100_000} for m in MODELS},
            })
            for name, kind in (("oa", "openai"), ("an", "anthropic"))
        }
        routes = {f"{p}-{m}": RouteConfig(targets=[f"{p}:{m}"]) for p in providers for m in MODELS}
        routing = RoutingConfig(routes=routes, retry=RetryConfig(max_attempts_per_target=1, min_attempt_s=0.1))
        yield Router.from_config(
            providers=providers, routing=routing, client=client, environ={"FAKE_KEY": "sk-secret-key"},
            prices=load_shipped_prices(),
        )


def request(route: str, stream: bool = False) -> Request:
    return Request(request_id=f"r-{route}", tenant="t", model=route, reply_to="replies", stream=stream,
                   messages=[Message(role="user", content="hello")], params={"max_tokens": 20})


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("provider", ["oa", "an"])
async def test_every_answer_hands_its_rate_limit_headers_to_its_attempt(router, provider, stream) -> None:
    out = await router.invoke(request(f"{provider}-remaining-3", stream), deadline_s=time.time() + 10)
    assert out.ok
    [attempt] = out.attempts
    prefix = "x-ratelimit-" if provider == "oa" else "anthropic-ratelimit-"
    assert attempt.rate_limits and all(name.startswith(prefix) for name in attempt.rate_limits)
    assert attempt.rate_limits[f"{prefix}remaining-requests" if provider == "oa" else f"{prefix}requests-remaining"] == "3"


async def test_a_refusal_hands_its_retry_after_to_its_attempt(router) -> None:
    out = await router.invoke(request("oa-fail-429"), deadline_s=time.time() + 10)
    [attempt] = out.attempts
    assert attempt.error is not None and attempt.rate_limits == {"retry-after": "1"}
    assert "rate_limits" not in attempt.error.to_wire().get("details", {})  # never on the wire


def stage(clock) -> tuple[AdmissionStage, InProcessQuota]:
    config = AdmissionConfig.model_validate({
        "accounts": {name: {"rpm": 600, "window_s": 60} for name in ("oa", "an")},
        "aimd": {"decrease_factor": 0.5, "low_remaining_fraction": 0.05},
    })
    quota = InProcessQuota(config, clock=clock)
    return AdmissionStage(config=config, states=MemoryStates(), quota=quota, account_of=lambda r: "oa",
                          clock=clock), quota


@pytest.mark.parametrize("provider", ["oa", "an"])
async def test_low_remaining_lowers_the_accounts_rate_before_any_429(router, provider) -> None:
    admission, quota = stage(time.time)
    plenty = await router.invoke(request(f"{provider}-remaining-60"), deadline_s=time.time() + 10)
    await admission.observe(None, list(plenty.attempts))  # type: ignore[arg-type]
    assert quota.get(provider).rate.current_factor(time.time()) == 1.0 and quota.reports == []

    low = await router.invoke(request(f"{provider}-remaining-3"), deadline_s=time.time() + 10)
    assert low.ok  # no refusal: the provider only said 3 of 100 are left
    await admission.observe(None, list(low.attempts))  # type: ignore[arg-type]
    now = time.time()
    assert quota.get(provider).rate.current_factor(now) == pytest.approx(0.5, abs=0.01)  # cut at once
    [report] = quota.reports  # and the account's owner is told, so every worker slows down
    assert report.status == 200 and report.remaining_fraction == pytest.approx(0.03) and report.reset_s is None


async def test_an_exhausted_limit_pauses_the_account_until_its_reset(router) -> None:
    admission, quota = stage(time.time)
    out = await router.invoke(request("oa-remaining-0"), deadline_s=time.time() + 10)
    await admission.observe(None, list(out.attempts))  # type: ignore[arg-type]
    rate = quota.get("oa").rate
    assert rate.paused(time.time()) and rate.paused_until == pytest.approx(time.time() + 1.0, abs=0.3)
    [report] = quota.reports
    assert report.remaining_fraction == 0.0 and report.reset_s == pytest.approx(1.0)


def test_the_owner_cuts_and_pauses_on_a_header_report_and_old_reports_still_decode() -> None:
    policy = AimdPolicy(decrease_factor=0.5)
    ledger = LeaseLedger.for_account("oa", AdmissionConfig.model_validate({"accounts": {"oa": {"rpm": 600}}}).account("oa"))
    low = RateReport("oa", "w1", 200, None, at=100.0, remaining_fraction=0.03)
    assert decode(encode(low)) == low
    _, rate, update = serve_quota_message(ledger, AdaptiveRate(policy=policy), low, now=100.2)
    assert rate.current_factor(100.2) == 0.5 and update is not None and update.last_cut_at == 100.2
    exhausted = RateReport("oa", "w1", 200, None, at=100.0, remaining_fraction=0.0, reset_s=1.0)
    _, rate, update = serve_quota_message(ledger, AdaptiveRate(policy=policy), exhausted, now=100.2)
    assert rate.paused_until == pytest.approx(101.0)  # counted from when the worker saw it
    old = b'{"type": "rate_report", "account": "oa", "worker_id": "w1", "status": 429, "retry_after_s": 1.0, "at": 5.0}'
    assert decode(old) == RateReport("oa", "w1", 429, 1.0, 5.0)
