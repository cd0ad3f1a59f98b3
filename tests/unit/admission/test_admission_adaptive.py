"""Provider rate-limit headers and AIMD control of an account's rate."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.admission.accounts import AccountState, Lease, LocalQuota, observe_response
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AimdPolicy
from tokenyard.admission.provider_signals import parse_go_duration, parse_rate_limit_headers

NOW = dt.datetime(2025, 1, 15, 14, 23, 0, tzinfo=dt.timezone.utc).timestamp()

OPENAI = {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-limit-tokens": "160000",
    "x-ratelimit-remaining-tokens": "159976",
    "x-ratelimit-reset-tokens": "6m0s",
}
ANTHROPIC = {
    "anthropic-ratelimit-requests-limit": "4000",
    "anthropic-ratelimit-requests-remaining": "3201",
    "anthropic-ratelimit-requests-reset": "2025-01-15T14:24:00Z",
    "anthropic-ratelimit-tokens-limit": "400000",
    "anthropic-ratelimit-tokens-remaining": "312000",
    "anthropic-ratelimit-tokens-reset": "2025-01-15T14:23:15Z",
    "anthropic-ratelimit-output-tokens-limit": "80000",
    "anthropic-ratelimit-output-tokens-remaining": "800",
    "anthropic-ratelimit-output-tokens-reset": "2025-01-15T14:23:30Z",
}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12ms", 0.012), ("1s", 1), ("6m0s", 360), ("1h2m3.5s", 3723.5), ("20", 20), ("0.5s", 0.5), ("", None), ("soon", None)],
)
def test_go_durations(text, seconds) -> None:
    assert parse_go_duration(text) == (None if seconds is None else pytest.approx(seconds))


def test_openai_headers() -> None:
    signal = parse_rate_limit_headers({k.upper(): v for k, v in OPENAI.items()}, NOW)
    assert signal.requests.limit == 5000 and signal.requests.remaining == 4999
    assert signal.requests.reset_s == pytest.approx(0.012)
    assert signal.tokens.reset_s == 360 and signal.retry_after_s is None
    assert signal.lowest_remaining_fraction == pytest.approx(4999 / 5000)


def test_anthropic_headers_report_the_tightest_token_family() -> None:
    signal = parse_rate_limit_headers(ANTHROPIC, NOW)
    assert signal.requests.remaining == 3201 and signal.requests.reset_s == pytest.approx(60)
    assert signal.tokens.limit == 80000 and signal.tokens.reset_s == pytest.approx(30)  # output tokens bite first
    assert signal.lowest_remaining_fraction == pytest.approx(0.01)


def test_retry_after_forms() -> None:
    assert parse_rate_limit_headers({"Retry-After": "20"}, NOW).retry_after_s == 20
    assert parse_rate_limit_headers({"retry-after-ms": "1500", "retry-after": "9"}, NOW).retry_after_s == 1.5
    http_date = "Wed, 15 Jan 2025 14:23:45 GMT"
    assert parse_rate_limit_headers({"retry-after": http_date}, NOW).retry_after_s == pytest.approx(45)
    assert parse_rate_limit_headers({"retry-after": "whenever"}, NOW).retry_after_s is None


def test_malformed_and_unknown_values_are_ignored() -> None:
    signal = parse_rate_limit_headers(
        {"x-ratelimit-remaining-tokens": "-1", "x-ratelimit-limit-tokens": "lots", "anthropic-ratelimit-requests-reset": "x"},
        NOW,
    )
    assert signal.tokens is None and signal.requests is None and signal.lowest_remaining_fraction is None


POLICY = AimdPolicy(decrease_factor=0.5, increase_per_s=0.1, floor=0.05, cut_cooldown_s=2)


def test_429_cuts_at_once_then_the_rate_recovers_additively() -> None:
    rate = AdaptiveRate(policy=POLICY).on_response(429, {}, now=100)
    assert rate.current_factor(100) == 0.5
    assert rate.current_factor(102) == pytest.approx(0.7)
    assert rate.current_factor(105) == 1.0
    assert rate.current_limit(600, 101) == pytest.approx(360)


def test_a_burst_of_429s_within_the_cooldown_is_one_cut() -> None:
    rate = AdaptiveRate(policy=POLICY)
    for t in (100, 100.1, 100.5, 101.9):
        rate = rate.on_response(429, {}, now=t)
    assert rate.factor == 0.5
    rate = rate.on_response(429, {}, now=102)
    assert rate.factor == pytest.approx(0.51 * 0.5)  # 0.1 s of recovery since 101.9, then cut


def test_retry_after_pauses_and_recovery_starts_when_the_pause_ends() -> None:
    rate = AdaptiveRate(policy=POLICY).on_response(429, {"retry-after": "10"}, now=100)
    assert rate.paused(105) and rate.current_factor(109.9) == 0
    assert rate.current_factor(110) == 0.5
    assert rate.current_factor(112) == pytest.approx(0.7)
    capped = AdaptiveRate(policy=AimdPolicy(max_pause_s=30)).on_response(429, {"retry-after": "99999"}, now=0)
    assert capped.paused_until == 30


def test_low_remaining_headers_cut_and_exhausted_ones_pause_until_reset() -> None:
    rate = AdaptiveRate(policy=POLICY).on_response(200, ANTHROPIC, now=NOW)  # 1 % output tokens left
    assert rate.factor == 0.5 and not rate.paused(NOW)
    exhausted = dict(OPENAI, **{"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "7s"})
    rate = AdaptiveRate(policy=POLICY).on_response(200, exhausted, now=NOW)
    assert rate.paused(NOW + 6.9) and not rate.paused(NOW + 7)


def test_healthy_responses_do_not_cut() -> None:
    rate = AdaptiveRate(policy=POLICY).on_response(200, OPENAI, now=NOW)
    assert rate.factor == 1.0 and not rate.paused(NOW)


@settings(deadline=None)
@given(
    events=st.lists(
        st.tuples(st.floats(0, 20), st.sampled_from([200, 429, 529, 500]), st.sampled_from([None, "0", "3"])),
        max_size=60,
    )
)
def test_factor_stays_between_floor_and_one_and_every_429_outside_cooldown_cuts(events) -> None:
    rate, now = AdaptiveRate(policy=POLICY), 0.0
    for dt_s, status, retry in events:
        now += dt_s
        before = rate.current_factor(now) if not rate.paused(now) else rate.factor
        rate_after = rate.on_response(status, {} if retry is None else {"retry-after": retry}, now)
        assert POLICY.floor <= rate_after.factor <= 1.0
        assert 0.0 <= rate_after.current_factor(now) <= 1.0
        if status in (429, 529) and (rate.last_cut_at is None or now - rate.last_cut_at >= POLICY.cut_cooldown_s):
            assert rate_after.factor == pytest.approx(max(POLICY.floor, before * 0.5))
        rate = rate_after


def test_worker_shrinks_its_held_quota_on_a_cut() -> None:
    quota = LocalQuota("acct").apply(Lease("acct:0:0", "acct", "w", 0, 40, 4000, 60), now=1)
    state = observe_response(AccountState(quota=quota, rate=AdaptiveRate(policy=POLICY)), 429, {"retry-after": "2"}, now=5)
    assert (state.quota.requests, state.quota.tokens) == (20, 2000)
    assert state.rate.paused(6)
    calm = observe_response(state, 200, {}, now=10)
    assert calm.quota == state.quota


def test_adaptive_rate_round_trips() -> None:
    rate = AdaptiveRate(policy=POLICY).on_response(429, {"retry-after": "1"}, now=3)
    assert AdaptiveRate.from_dict(rate.to_dict(), POLICY) == rate
