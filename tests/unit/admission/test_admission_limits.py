"""Tenant and tenant+route limits, token estimates and their correction."""

from __future__ import annotations

import pytest

from tokenyard.admission.config import TenantLimits
from tokenyard.admission.limits import TenantState, check_tenant, commit_tenant, estimate_tokens, settle_tokens


def _admit(state: TenantState, limits: TenantLimits, route: str, tokens: int, now: float):
    refilled, checks = check_tenant(state, limits, route, tokens, now)
    if all(c.wait_s == 0 for c in checks):
        return commit_tenant(state, refilled, checks), True, checks
    return state, False, checks


def test_estimate_is_prompt_quarter_plus_framing_plus_max_tokens() -> None:
    assert estimate_tokens(prompt_chars=400, messages=2, max_tokens=256) == 100 + 8 + 256
    assert estimate_tokens(prompt_chars=1, messages=1, max_tokens=0) == 1 + 4
    with pytest.raises(ValueError, match=">= 0"):
        estimate_tokens(-1, 1, 1)


def test_rpm_bucket_admits_the_burst_then_one_per_refill() -> None:
    limits = TenantLimits(rpm=3)
    state = TenantState()
    results = []
    for _ in range(4):
        state, ok, checks = _admit(state, limits, "r", 10, now=0.0)
        results.append(ok)
    assert results == [True, True, True, False]
    assert checks[0].key == "rpm" and checks[0].wait_s == pytest.approx(20.0)
    _, ok, _ = _admit(state, limits, "r", 10, now=20.0)
    assert ok


def test_route_limit_applies_on_top_of_the_tenant_limit_and_only_to_its_route() -> None:
    limits = TenantLimits(rpm=100, routes={"big": {"tpm": 1000}})
    state, ok, _ = _admit(TenantState(), limits, "big", 800, now=0)
    assert ok
    state, ok, checks = _admit(state, limits, "big", 300, now=0)
    assert not ok and [c.key for c in checks if c.wait_s > 0] == ["route:big:tpm"]
    state, ok, _ = _admit(state, limits, "small", 300, now=0)
    assert ok


def test_admission_is_all_or_nothing_across_buckets() -> None:
    limits = TenantLimits(rpm=10, tpm=100)
    state, ok, _ = _admit(TenantState(), limits, "r", 90, now=0)
    rpm_after_first = state.buckets["rpm"].tokens
    state, ok, _ = _admit(state, limits, "r", 50, now=0)  # rpm fits, tpm does not
    assert not ok
    assert state.buckets["rpm"].tokens == rpm_after_first


def test_no_limits_means_no_buckets() -> None:
    state, ok, checks = _admit(TenantState(), TenantLimits(), "r", 10**9, now=0)
    assert ok and checks == [] and state.buckets == {}


def test_settle_refunds_and_charges_only_token_buckets() -> None:
    limits = TenantLimits(rpm=10, tpm=1000, routes={"r": {"tpm": 500}})
    state, _, _ = _admit(TenantState(), limits, "r", 400, now=0)
    refunded = settle_tokens(state, limits, "r", estimated=400, actual=100, now=0)
    assert refunded.buckets["tpm"].tokens == 900
    assert refunded.buckets["route:r:tpm"].tokens == 400
    assert refunded.buckets["rpm"] == state.buckets["rpm"]
    overdrawn = settle_tokens(state, limits, "r", estimated=400, actual=1000, now=0)
    assert overdrawn.buckets["route:r:tpm"].tokens == -500
    assert settle_tokens(state, limits, "r", 400, 400, now=0) is state
    with pytest.raises(ValueError):
        settle_tokens(state, limits, "r", -1, 5, now=0)


def test_changing_a_limit_keeps_the_fill_ratio() -> None:
    state, _, _ = _admit(TenantState(), TenantLimits(tpm=1000), "r", 750, now=0)
    _, ok, checks = _admit(state, TenantLimits(tpm=2000), "r", 500, now=0)
    assert ok and checks[0].capacity == 2000


def test_tenant_state_round_trips_through_a_dict() -> None:
    state, _, _ = _admit(TenantState(), TenantLimits(rpm=5, tpm=50), "r", 10, now=3.5)
    assert TenantState.from_dict(state.to_dict()) == state
