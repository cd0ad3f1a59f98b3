"""Daily and monthly USD spend per tenant, in UTC calendar windows.

:class:`BudgetState` is a small value fed by the real cost of every completed
request (:func:`apply_cost`) and read before admitting the next one
(:func:`check_budget`): at or over a soft limit the reply carries a warning, at
or over a hard limit the request is rejected with ``budget_exceeded``.

Idempotency. Kafka delivers at least once, so the same cost event (one
``request_id`` + ``attempt``) can arrive twice. Each event is filed under the UTC
day of its own timestamp, which is part of the event and identical on every
redelivery, so a duplicate always lands in the same day as the original. The
state keeps the 64-bit hashes of the events applied on the current day and on
the day before; a duplicate of either is recognised and ignored.

Bounds: the state holds two days of event hashes (8 bytes each: 100k requests
a day is under 2 MB per tenant) and two Decimals. An event older than the day
before the newest one seen is *late*: it is not applied and :func:`apply_cost`
says so, because it could no longer be told apart from a duplicate. A late
event only happens after the usage consumer lagged by more than a day; the
agent should log it (its cost is still in ClickHouse). Hash collisions between
two different events of one tenant and day have probability ~n²/2⁶⁵ (≈3e-8 at
a million events a day); a collision under-counts one request.

Spend can overshoot a hard limit by the cost of requests in flight when it is
crossed; the limit stops everything admitted after the crossing is recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from tokenyard.admission.config import TenantLimits
from tokenyard.errors import BudgetExceeded

ZERO = Decimal(0)


class SpendOutcome(str, Enum):
    applied = "applied"
    duplicate = "duplicate"
    late = "late"


def event_key(request_id: str, attempt: int) -> str:
    """The idempotency key of one cost event."""
    return f"{request_id}#{attempt}"


def _hash_event(event_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


def _utc_date(at: float) -> dt.date:
    return dt.datetime.fromtimestamp(at, tz=dt.timezone.utc).date()


@dataclass(frozen=True, slots=True)
class BudgetState:
    """Spend in the current UTC day and month; ``day`` is ISO ``YYYY-MM-DD``, ``month`` ``YYYY-MM``."""

    day: str = ""
    day_spent: Decimal = ZERO
    month: str = ""
    month_spent: Decimal = ZERO
    seen_day: frozenset[int] = field(default_factory=frozenset)
    seen_previous_day: frozenset[int] = field(default_factory=frozenset)

    def to_dict(self) -> dict[str, object]:
        return {
            "day": self.day,
            "day_spent": str(self.day_spent),
            "month": self.month,
            "month_spent": str(self.month_spent),
            "seen_day": sorted(self.seen_day),
            "seen_previous_day": sorted(self.seen_previous_day),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BudgetState:
        if not data:
            return cls()
        return cls(
            day=str(data["day"]),
            day_spent=Decimal(str(data["day_spent"])),
            month=str(data["month"]),
            month_spent=Decimal(str(data["month_spent"])),
            seen_day=frozenset(int(h) for h in data["seen_day"]),  # type: ignore[attr-defined]
            seen_previous_day=frozenset(int(h) for h in data["seen_previous_day"]),  # type: ignore[attr-defined]
        )


def _roll_to(state: BudgetState, day: dt.date) -> BudgetState:
    """Move the windows forward so ``day`` is the current day (never backwards)."""
    iso_day, iso_month = day.isoformat(), day.isoformat()[:7]
    if state.day >= iso_day:
        return state
    adjacent = state.day == (day - dt.timedelta(days=1)).isoformat()
    return BudgetState(
        day=iso_day,
        day_spent=ZERO,
        month=iso_month,
        month_spent=state.month_spent if state.month == iso_month else ZERO,
        seen_day=frozenset(),
        seen_previous_day=state.seen_day if adjacent else frozenset(),
    )


def apply_cost(state: BudgetState, event_id: str, cost: Decimal, at: float) -> tuple[BudgetState, SpendOutcome]:
    """Add one completed request's real cost, filed under the UTC day of ``at`` (the event's time)."""
    if not isinstance(cost, Decimal) or not cost.is_finite() or cost < 0:
        raise ValueError(f"cost must be a finite Decimal >= 0, got {cost!r}")
    event_day = _utc_date(at)
    state = _roll_to(state, event_day)
    iso_day = event_day.isoformat()
    digest = _hash_event(event_id)
    if iso_day == state.day:
        if digest in state.seen_day:
            return state, SpendOutcome.duplicate
        return (
            BudgetState(
                day=state.day,
                day_spent=state.day_spent + cost,
                month=state.month,
                month_spent=state.month_spent + cost,
                seen_day=state.seen_day | {digest},
                seen_previous_day=state.seen_previous_day,
            ),
            SpendOutcome.applied,
        )
    if iso_day == (dt.date.fromisoformat(state.day) - dt.timedelta(days=1)).isoformat():
        if digest in state.seen_previous_day:
            return state, SpendOutcome.duplicate
        same_month = iso_day[:7] == state.month
        return (
            BudgetState(
                day=state.day,
                day_spent=state.day_spent,  # yesterday's daily window is closed
                month=state.month,
                month_spent=state.month_spent + cost if same_month else state.month_spent,
                seen_day=state.seen_day,
                seen_previous_day=state.seen_previous_day | {digest},
            ),
            SpendOutcome.applied,
        )
    return state, SpendOutcome.late


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    warnings: tuple[str, ...] = ()
    exceeded: BudgetExceeded | None = None


NO_BUDGET_ISSUES = BudgetCheck()


def spent_at(state: BudgetState, now: float) -> tuple[Decimal, Decimal]:
    """``(spent today, spent this month)`` as of ``now``; a window that has rolled over counts 0."""
    today = _utc_date(now).isoformat()
    day_spent = state.day_spent if state.day == today else ZERO
    month_spent = state.month_spent if state.month == today[:7] else ZERO
    return day_spent, month_spent


def _next_reset(now: float, window: str) -> dt.datetime:
    today = _utc_date(now)
    if window == "daily":
        start = today + dt.timedelta(days=1)
    else:
        start = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc)


def check_budget(state: BudgetState, limits: TenantLimits, tenant: str, now: float) -> BudgetCheck:
    """Warnings for soft limits reached and the error for a hard limit reached, as of ``now``."""
    daily, monthly = limits.daily, limits.monthly
    if daily.hard_usd is None and daily.soft_usd is None and monthly.hard_usd is None and monthly.soft_usd is None:
        return NO_BUDGET_ISSUES
    day_spent, month_spent = spent_at(state, now)
    warnings: list[str] = []
    for window, spent, limit in (("daily", day_spent, limits.daily), ("monthly", month_spent, limits.monthly)):
        if limit.hard_usd is not None and spent >= limit.hard_usd:
            resets_at = _next_reset(now, window)
            return BudgetCheck(
                warnings=tuple(warnings),
                exceeded=BudgetExceeded(
                    f"tenant {tenant!r} has spent ${spent} of its {window} hard limit ${limit.hard_usd}; "
                    f"the window resets at {resets_at.isoformat()}",
                    window=window,
                    spent_usd=str(spent),
                    hard_usd=str(limit.hard_usd),
                    resets_at=resets_at.isoformat(),
                ),
            )
        if limit.soft_usd is not None and spent >= limit.soft_usd:
            warnings.append(
                f"budget_soft_limit: {window} spend ${spent} has reached the soft limit ${limit.soft_usd}"
                + (f" (hard limit ${limit.hard_usd})" if limit.hard_usd is not None else "")
            )
    return BudgetCheck(warnings=tuple(warnings)) if warnings else NO_BUDGET_ISSUES
