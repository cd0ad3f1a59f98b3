"""Token bucket math: admission bounds, waits, corrections, bad input."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.admission.bucket import Bucket, admit, charge, refill, wait_for

steps = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=30, allow_nan=False),  # seconds since the previous step
        st.floats(min_value=0, max_value=150, allow_nan=False),  # cost
    ),
    min_size=1,
    max_size=80,
)
capacities = st.floats(min_value=1, max_value=100, allow_nan=False)
rates = st.floats(min_value=0, max_value=10, allow_nan=False)


@settings(deadline=None)
@given(capacity=capacities, rate=rates, steps=steps)
def test_admission_never_goes_negative_or_above_capacity(capacity: float, rate: float, steps) -> None:
    bucket = Bucket.full(capacity, rate, now=0.0)
    now = 0.0
    for dt, cost in steps:
        now += dt
        before = refill(bucket, now).tokens
        bucket, decision = admit(bucket, cost, now)
        assert 0.0 <= bucket.tokens <= capacity
        if decision.admitted:
            assert bucket.tokens == pytest.approx(before - cost)
        else:
            assert bucket.tokens == before
            assert decision.retry_after > 0


@settings(deadline=None)
@given(capacity=capacities, rate=rates, steps=steps, window=st.floats(min_value=0.1, max_value=120))
def test_admitted_in_any_window_is_at_most_rate_times_window_plus_capacity(capacity, rate, steps, window) -> None:
    bucket = Bucket.full(capacity, rate, now=0.0)
    now = 0.0
    admitted: list[tuple[float, float]] = []
    for dt, cost in steps:
        now += dt
        bucket, decision = admit(bucket, cost, now)
        if decision.admitted:
            admitted.append((now, cost))
    for start, _ in admitted:  # worst windows start at an admission
        total = sum(cost for t, cost in admitted if start <= t <= start + window)
        assert total <= rate * window + capacity + 1e-6 * (1 + capacity)


@settings(deadline=None)
@given(capacity=capacities, rate=st.floats(min_value=0.01, max_value=10), tokens=st.floats(0, 1), cost_share=st.floats(0, 1))
def test_retry_after_is_exactly_when_the_cost_fits(capacity, rate, tokens, cost_share) -> None:
    bucket = Bucket(capacity, tokens * capacity, rate, updated_at=0.0)
    cost = cost_share * capacity
    _, decision = admit(bucket, cost, now=0.0)
    if decision.admitted:
        return
    if decision.retry_after > 1e-6:  # below that, 1 % of the wait is lost in rounding
        _, early = admit(bucket, cost, now=decision.retry_after * 0.99)
        assert not early.admitted
    _, on_time = admit(bucket, cost, now=decision.retry_after * (1 + 1e-9) + 1e-12)
    assert on_time.admitted


def test_cost_above_capacity_can_never_be_admitted() -> None:
    bucket = Bucket.full(10, 1, now=0)
    after, decision = admit(bucket, 11, now=1000)
    assert not decision.admitted and decision.never and math.isinf(decision.retry_after)
    assert "exceeds bucket capacity 10" in decision.reason
    assert after.tokens == 10


def test_bucket_without_refill_says_never_when_empty() -> None:
    bucket, first = admit(Bucket.full(2, 0, now=0), 2, now=0)
    assert first.admitted
    _, second = admit(bucket, 1, now=10_000)
    assert second.never and "does not refill" in second.reason


def test_refund_is_capped_at_capacity_and_extra_charge_goes_into_debt() -> None:
    bucket = Bucket.full(100, 1, now=0)
    bucket, _ = admit(bucket, 40, now=0)
    assert charge(bucket, -1000, now=0).tokens == 100
    in_debt = charge(bucket, 90, now=0)
    assert in_debt.tokens == -30
    # Debt is paid back by refill first: 30 s to reach 0, 31 s to afford 1.
    _, decision = admit(in_debt, 1, now=0)
    assert decision.retry_after == pytest.approx(31)
    _, later = admit(in_debt, 1, now=31)
    assert later.admitted


def test_clock_stepping_back_neither_refills_nor_credits_twice() -> None:
    bucket = Bucket(10, 0, 1, updated_at=100)
    assert refill(bucket, 50) == bucket
    _, wait = wait_for(bucket, 5, 50)
    assert wait == pytest.approx(55)  # refill resumes at 100, then 5 s
    assert refill(bucket, 103).tokens == pytest.approx(3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": 0, "tokens": 0, "refill_per_s": 1, "updated_at": 0}, "capacity"),
        ({"capacity": math.inf, "tokens": 0, "refill_per_s": 1, "updated_at": 0}, "capacity"),
        ({"capacity": 5, "tokens": 6, "refill_per_s": 1, "updated_at": 0}, "tokens"),
        ({"capacity": 5, "tokens": 1, "refill_per_s": -1, "updated_at": 0}, "refill_per_s"),
    ],
)
def test_invalid_buckets_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Bucket(**kwargs)


def test_negative_cost_and_non_finite_charge_are_refused() -> None:
    bucket = Bucket.full(5, 1, now=0)
    with pytest.raises(ValueError, match="cost"):
        admit(bucket, -1, now=0)
    with pytest.raises(ValueError, match="finite"):
        charge(bucket, math.nan, now=0)


def test_bucket_round_trips_through_a_dict() -> None:
    bucket = Bucket(7.5, -2.0, 0.125, 1234.5)
    assert Bucket.from_dict(bucket.to_dict()) == bucket


@settings(deadline=None, max_examples=50)
@given(actual_share=st.floats(min_value=0.1, max_value=2.0))
def test_corrections_make_the_real_rate_converge_to_the_limit(actual_share: float) -> None:
    """Estimate 100 per call; real use differs. Over a long run the real total tracks the rate."""
    rate, estimate = 10.0, 100.0
    bucket = Bucket.full(600, rate, now=0.0)
    real_total, now = 0.0, 0.0
    while now < 3600:
        bucket, decision = admit(bucket, estimate, now)
        if decision.admitted:
            real = estimate * actual_share
            bucket = charge(bucket, real - estimate, now)
            real_total += real
            now += 0.5
        else:
            now += decision.retry_after
    assert real_total <= rate * now + 600 + estimate * 2
    assert real_total >= rate * now * 0.9


@settings(deadline=None)
@given(
    start=st.sampled_from([0.0, 1_700_000_000.0]),
    capacity=capacities,
    rate=st.floats(min_value=1e-3, max_value=1e4),
    tokens=st.floats(-1, 1),
    cost_share=st.floats(0, 1),
)
def test_coming_back_at_retry_after_is_always_admitted_even_at_epoch_scale(start, capacity, rate, tokens, cost_share):
    bucket = Bucket(capacity, tokens * capacity, rate, updated_at=start)
    cost = cost_share * capacity
    _, decision = admit(bucket, cost, now=start)
    if not decision.admitted:
        assert start + decision.retry_after > start
        _, again = admit(bucket, cost, now=start + decision.retry_after)
        assert again.admitted
