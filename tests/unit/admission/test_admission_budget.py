"""Daily / monthly budgets: idempotent spend, UTC windows, soft and hard limits."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.admission.budget import BudgetState, SpendOutcome, apply_cost, check_budget, spent_at
from tokenyard.admission.config import SpendLimit, TenantLimits
from tokenyard.errors import BudgetExceeded


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


DAY = ts("2025-03-14T12:00:00")

events = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=15),  # event id
        st.integers(min_value=0, max_value=500),  # cents
        st.integers(min_value=0, max_value=3 * 3600),  # seconds after DAY
    ),
    min_size=1,
    max_size=40,
)


@settings(deadline=None, max_examples=200)
@given(events=events, redeliveries=st.lists(st.integers(min_value=0, max_value=39), max_size=40))
def test_applying_an_event_twice_never_double_counts(events, redeliveries) -> None:
    # Each id always carries the same cost and time, as a redelivered event does.
    canonical = {}
    for event_id, cents, offset in events:
        canonical.setdefault(event_id, (Decimal(cents) / 100, DAY + offset))
    stream = [e[0] for e in events] + [events[i % len(events)][0] for i in redeliveries]
    state = BudgetState()
    for event_id in stream:
        cost, at = canonical[event_id]
        state, _ = apply_cost(state, f"req-{event_id}#0", cost, at)
    expected = sum(cost for cost, _ in canonical.values())
    assert state.day_spent == expected and state.month_spent == expected


def test_outcomes_name_duplicates_and_late_events() -> None:
    state, first = apply_cost(BudgetState(), "a#0", Decimal("1.5"), DAY)
    state, again = apply_cost(state, "a#0", Decimal("1.5"), DAY)
    assert (first, again) == (SpendOutcome.applied, SpendOutcome.duplicate)
    state, retry = apply_cost(state, "a#1", Decimal("1"), DAY)
    assert retry is SpendOutcome.applied and state.day_spent == Decimal("2.5")
    _, late = apply_cost(state, "old#0", Decimal("9"), DAY - 3 * 86400)
    assert late is SpendOutcome.late


def test_day_rollover_keeps_yesterday_duplicates_out_and_month_running() -> None:
    state, _ = apply_cost(BudgetState(), "y#0", Decimal("4"), ts("2025-03-14T23:59:59"))
    state, _ = apply_cost(state, "t#0", Decimal("1"), ts("2025-03-15T00:00:01"))
    assert (state.day, state.day_spent, state.month_spent) == ("2025-03-15", Decimal("1"), Decimal("5"))
    state, outcome = apply_cost(state, "y#0", Decimal("4"), ts("2025-03-14T23:59:59"))
    assert outcome is SpendOutcome.duplicate and state.month_spent == Decimal("5")
    # A late-but-recent event from yesterday counts towards the month, not today.
    state, outcome = apply_cost(state, "y2#0", Decimal("2"), ts("2025-03-14T23:00:00"))
    assert outcome is SpendOutcome.applied
    assert (state.day_spent, state.month_spent) == (Decimal("1"), Decimal("7"))


def test_month_rollover_starts_from_zero() -> None:
    state, _ = apply_cost(BudgetState(), "a#0", Decimal("100"), ts("2025-01-31T23:00:00"))
    state, _ = apply_cost(state, "b#0", Decimal("1"), ts("2025-02-01T01:00:00"))
    assert (state.month, state.month_spent) == ("2025-02", Decimal("1"))
    state, _ = apply_cost(state, "c#0", Decimal("5"), ts("2025-01-31T23:30:00"))  # January's
    assert state.month_spent == Decimal("1")
    # Windows read as empty once they are over, even without new events.
    assert spent_at(state, ts("2025-03-01T00:00:00")) == (Decimal(0), Decimal(0))


def test_soft_limit_warns_and_hard_limit_rejects_until_the_window_resets() -> None:
    limits = TenantLimits(daily=SpendLimit(soft_usd=Decimal("8"), hard_usd=Decimal("10")))
    state, _ = apply_cost(BudgetState(), "a#0", Decimal("8.5"), DAY)
    check = check_budget(state, limits, "acme", DAY + 60)
    assert check.exceeded is None
    assert len(check.warnings) == 1 and "daily spend $8.5 has reached the soft limit $8" in check.warnings[0]
    state, _ = apply_cost(state, "b#0", Decimal("1.5"), DAY + 60)
    check = check_budget(state, limits, "acme", DAY + 120)
    assert isinstance(check.exceeded, BudgetExceeded)
    wire = check.exceeded.to_wire()
    assert wire["code"] == "budget_exceeded" and not wire["retriable"]
    assert wire["details"]["resets_at"] == "2025-03-15T00:00:00+00:00"
    assert check_budget(state, limits, "acme", ts("2025-03-15T00:00:01")).exceeded is None


def test_monthly_hard_limit_rejects() -> None:
    limits = TenantLimits(monthly=SpendLimit(hard_usd=Decimal("3")))
    state, _ = apply_cost(BudgetState(), "a#0", Decimal("3"), ts("2025-12-02T00:00:00"))
    check = check_budget(state, limits, "t", ts("2025-12-20T00:00:00"))
    assert check.exceeded is not None and check.exceeded.details["resets_at"] == "2026-01-01T00:00:00+00:00"


def test_no_budget_configured_means_no_check() -> None:
    state, _ = apply_cost(BudgetState(), "a#0", Decimal("1e6"), DAY)
    check = check_budget(state, TenantLimits(), "t", DAY)
    assert check.exceeded is None and check.warnings == ()


@pytest.mark.parametrize("bad", [Decimal("-1"), Decimal("NaN"), Decimal("Infinity"), 1.5])
def test_bad_costs_are_refused(bad) -> None:
    with pytest.raises(ValueError, match="cost"):
        apply_cost(BudgetState(), "a#0", bad, DAY)


def test_state_survives_a_json_round_trip_with_its_idempotency_set() -> None:
    state, _ = apply_cost(BudgetState(), "a#0", Decimal("0.000123"), DAY - 86400)
    state, _ = apply_cost(state, "b#0", Decimal("2"), DAY)
    rebuilt = BudgetState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert rebuilt == state
    assert apply_cost(rebuilt, "a#0", Decimal("0.000123"), DAY - 86400)[1] is SpendOutcome.duplicate
    assert BudgetState.from_dict({}) == BudgetState()
