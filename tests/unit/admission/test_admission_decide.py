"""The admission entry point: admit, defer, reject, and correction afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tokenyard.admission.accounts import AccountState, LeaseLedger, LocalQuota
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AdmissionConfig
from tokenyard.admission.decide import (
    Admit,
    AdmissionState,
    Defer,
    Reject,
    RequestFacts,
    decide,
    facts_from_request,
    lease_request_for,
    record_spend,
    settle,
)
from tokenyard.schemas.records import Request

CONFIG = AdmissionConfig.parse(
    {
        "default_tenant": {"rpm": 2, "tpm": 10_000},
        "tenants": {
            "strict": {"rpm": 1, "over_limit": "reject"},
            "spender": {"daily": {"soft_usd": "1", "hard_usd": "2"}},
        },
        "accounts": {"acct": {"rpm": 60, "tpm": 60_000, "lease_fraction": 0.5}},
    }
)


def facts(tenant="t", tokens=100, deadline=None, account=None, request_id="r1") -> RequestFacts:
    return RequestFacts(request_id, tenant, "route", account, tokens, "normal", deadline)


def test_admits_then_defers_with_the_earliest_time_it_would_fit() -> None:
    state = AdmissionState()
    state, first = decide(state, facts(), now=0, config=CONFIG)
    state, second = decide(state, facts(), now=0, config=CONFIG)
    assert isinstance(first, Admit) and isinstance(second, Admit)
    state, third = decide(state, facts(), now=0, config=CONFIG)
    assert isinstance(third, Defer) and third.not_before == pytest.approx(30) and "rpm" in third.reason
    _, fourth = decide(state, facts(), now=30, config=CONFIG)
    assert isinstance(fourth, Admit)


def test_reject_policy_answers_rate_limited_with_retry_after() -> None:
    state, _ = decide(AdmissionState(), facts("strict"), now=0, config=CONFIG)
    _, outcome = decide(state, facts("strict"), now=0, config=CONFIG)
    assert isinstance(outcome, Reject)
    wire = outcome.error.to_wire()
    assert wire["code"] == "rate_limited" and wire["retriable"] and wire["retry_after_s"] == 60


def test_deadline_already_passed_or_before_earliest_admission_is_rejected() -> None:
    _, passed = decide(AdmissionState(), facts(deadline=10), now=10, config=CONFIG)
    assert isinstance(passed, Reject) and passed.error.code == "deadline_exceeded"
    state = AdmissionState()
    for _ in range(2):
        state, _ = decide(state, facts(), now=0, config=CONFIG)
    _, too_late = decide(state, facts(deadline=29), now=0, config=CONFIG)
    assert isinstance(too_late, Reject) and too_late.error.code == "deadline_exceeded"
    assert "tenant rpm limit" in too_late.error.message
    _, in_time = decide(state, facts(deadline=31), now=0, config=CONFIG)
    assert isinstance(in_time, Defer)


def test_a_rejection_takes_nothing() -> None:
    state = AdmissionState()
    state, _ = decide(state, facts(), now=0, config=CONFIG)
    after, _ = decide(state, facts(tokens=50_000), now=0, config=CONFIG)
    assert after is state


def test_cost_above_the_tpm_capacity_is_a_clear_non_retriable_error() -> None:
    _, outcome = decide(AdmissionState(), facts(tokens=10_001), now=0, config=CONFIG)
    assert isinstance(outcome, Reject)
    assert outcome.error.code == "prompt_too_large" and not outcome.error.retriable
    assert "10001 tokens" in outcome.error.message and "tpm" in outcome.error.message


def test_unknown_tenant_gets_default_limits() -> None:
    state = AdmissionState()
    outcomes = []
    for _ in range(3):
        state, outcome = decide(state, facts("never-configured"), now=0, config=CONFIG)
        outcomes.append(type(outcome))
    assert outcomes == [Admit, Admit, Defer]


def test_budget_soft_limit_warns_and_hard_limit_rejects() -> None:
    state = AdmissionState()
    tenant, _ = record_spend(state.tenant, "a", 0, Decimal("1.2"), at=100)
    state = AdmissionState(tenant=tenant)
    state, outcome = decide(state, facts("spender"), now=200, config=CONFIG)
    assert isinstance(outcome, Admit) and outcome.warnings and "soft limit $1" in outcome.warnings[0]
    tenant, _ = record_spend(state.tenant, "b", 0, Decimal("0.8"), at=300)
    tenant, outcome_dup = record_spend(tenant, "b", 0, Decimal("0.8"), at=300)
    assert outcome_dup.value == "duplicate"
    _, outcome = decide(AdmissionState(tenant=tenant), facts("spender"), now=400, config=CONFIG)
    assert isinstance(outcome, Reject) and outcome.error.code == "budget_exceeded"


def test_account_without_quota_defers_and_asks_for_a_lease_then_admits() -> None:
    f = facts(account="acct")
    state, outcome = decide(AdmissionState(), f, now=1, config=CONFIG)
    assert isinstance(outcome, Defer) and outcome.not_before == pytest.approx(1 + CONFIG.lease_retry_s)
    state, request = lease_request_for(state, f, now=1, config=CONFIG, worker_id="w1")
    assert request is not None and request.account == "acct"
    _, lease = LeaseLedger.for_account("acct", CONFIG.account("acct")).grant("w1", request.requests, request.tokens, now=1)
    state = AdmissionState(tenant=state.tenant, account=AccountState(state.account.quota.apply(lease, 1), state.account.rate))
    state, outcome = decide(state, f, now=1.1, config=CONFIG)
    assert isinstance(outcome, Admit) and outcome.account_window == 0
    assert state.account.quota.requests == lease.requests - 1
    assert state.account.quota.tokens == lease.tokens - 100


def test_paused_account_defers_until_retry_after_and_never_past_deadline() -> None:
    rate = AdaptiveRate().on_response(429, {"retry-after": "5"}, now=0)
    account = AccountState(LocalQuota("acct"), rate)
    _, outcome = decide(AdmissionState(account=account), facts(account="acct"), now=1, config=CONFIG)
    assert isinstance(outcome, Defer) and outcome.not_before == pytest.approx(5) and "paused" in outcome.reason
    _, outcome = decide(AdmissionState(account=account), facts(account="acct", deadline=3), now=1, config=CONFIG)
    assert isinstance(outcome, Reject) and outcome.error.code == "deadline_exceeded"
    # The strict tenant rejects over *its own* limits; account trouble is deferred.
    _, outcome = decide(AdmissionState(account=account), facts("strict", account="acct"), now=1, config=CONFIG)
    assert isinstance(outcome, Defer)


def test_request_larger_than_the_account_window_is_refused() -> None:
    config = CONFIG.model_copy(update={"default_tenant": CONFIG.default_tenant.model_copy(update={"tpm": None})})
    _, outcome = decide(AdmissionState(), facts(tokens=70_000, account="acct"), now=0, config=config)
    assert isinstance(outcome, Reject) and outcome.error.code == "prompt_too_large"
    assert "provider account 'acct'" in outcome.error.message


def test_unconfigured_account_is_not_limited() -> None:
    state, outcome = decide(AdmissionState(), facts(account="elsewhere"), now=0, config=CONFIG)
    assert isinstance(outcome, Admit) and state.account is None and outcome.account_window is None


def test_settle_refunds_tenant_and_account_tokens() -> None:
    quota = LocalQuota("acct").apply(
        LeaseLedger.for_account("acct", CONFIG.account("acct")).grant("w", 30, 30_000, now=0)[1], now=0
    )
    f = facts(tokens=1000, account="acct")
    state, admitted = decide(AdmissionState(account=AccountState(quota)), f, now=0, config=CONFIG)
    settled = settle(state, f, admitted, actual_tokens=400, now=0, config=CONFIG)
    assert settled.tenant.buckets["tpm"].tokens == 10_000 - 400
    assert settled.account.quota.tokens == 30_000 - 400


def test_two_workers_sharing_an_account_never_admit_more_than_its_window() -> None:
    """Two workers, many tenants, one account: the sum admitted per window stays within the limit."""
    config = AdmissionConfig.parse({"accounts": {"acct": {"rpm": 30, "lease_fraction": 0.2}}})
    ledger = LeaseLedger.for_account("acct", config.account("acct"))
    workers = {w: AdmissionState(account=AccountState.fresh("acct")) for w in ("w1", "w2")}
    admitted_per_window: dict[int, int] = {}
    now, n = 0.0, 0
    while now < 180:
        for name in workers:
            n += 1
            f = facts(tenant=f"tenant{n % 7}", account="acct", request_id=f"r{n}")
            state, outcome = decide(workers[name], f, now, config)
            state, request = lease_request_for(state, f, now, config, name)
            if request is not None:
                ledger, answer = ledger.grant(name, request.requests, request.tokens, now)
                state = AdmissionState(state.tenant, AccountState(state.account.quota.apply(answer, now), state.account.rate))
            if isinstance(outcome, Admit):
                admitted_per_window[int(now // 60)] = admitted_per_window.get(int(now // 60), 0) + 1
            workers[name] = state
        now += 0.1
    assert admitted_per_window and max(admitted_per_window.values()) <= 30
    assert sum(admitted_per_window.values()) >= 80  # and the quota is actually used


def test_facts_from_a_wire_request() -> None:
    request = Request.model_validate(
        {
            "request_id": "req-1",
            "tenant": "acme",
            "model": "chat",
            "messages": [{"role": "system", "content": "x" * 40}, {"role": "user", "content": "y" * 400}],
            "reply_to": "replies",
            "deadline_ms": 1_700_000_000_500,
            "priority": "high",
        }
    )
    f = facts_from_request(request, {"chat": "acct"}, default_max_tokens=256)
    assert (f.tenant, f.route, f.account, f.priority, f.deadline) == ("acme", "chat", "acct", "high", 1_700_000_000.5)
    assert f.estimated_tokens == 110 + 8 + 256
    explicit = request.model_copy(update={"params": request.params.model_copy(update={"max_tokens": 10})})
    assert facts_from_request(explicit, "acct", {"chat": 999}).estimated_tokens == 110 + 8 + 10
    assert facts_from_request(request, None, {"chat": 999}).account is None


def test_the_tenants_priority_applies_when_the_request_names_none() -> None:
    wire = {"request_id": "r", "tenant": "acme", "model": "chat", "reply_to": "replies",
            "messages": [{"role": "user", "content": "hi"}]}
    unnamed = Request.model_validate(wire)
    assert unnamed.priority is None
    assert facts_from_request(unnamed, None, 10, tenant_priority="high").priority == "high"
    assert facts_from_request(unnamed, None, 10).priority == "normal"
    named = Request.model_validate({**wire, "priority": "low"})
    assert facts_from_request(named, None, 10, tenant_priority="high").priority == "low"
