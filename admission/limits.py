"""Tenant and tenant+route RPM/TPM limits.

Each limit is a per-minute :class:`~tokenyard.admission.bucket.Bucket` (burst of
one minute's limit, continuous refill). A request costs 1 against every RPM
bucket and its *estimated* tokens against every TPM bucket. The estimate is
made before the call (prompt characters / 4, plus a few tokens of framing per
message, plus ``max_tokens`` or the route default) and corrected with the real
usage afterwards by :func:`settle_tokens`, so the tenant's true token rate
converges to its TPM.

Admission is all-or-nothing across the buckets of one request: nothing is
taken unless every bucket can pay now. Bucket state lives in
:class:`TenantState`, a plain value the admission agent keeps in a Faust table
keyed by tenant (the request topic is partitioned by tenant, so one worker owns
all of a tenant's buckets and the limit is exact however many workers run).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from tokenyard.admission.bucket import Bucket, charge, take, wait_for
from tokenyard.admission.budget import BudgetState
from tokenyard.admission.config import TenantLimits

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 4


def estimate_tokens(prompt_chars: int, messages: int, max_tokens: int) -> int:
    """Upper-leaning token estimate for one call: prompt guess plus the whole output allowance."""
    if prompt_chars < 0 or messages < 0 or max_tokens < 0:
        raise ValueError("prompt_chars, messages and max_tokens must be >= 0")
    return math.ceil(prompt_chars / CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE * messages + max_tokens


@dataclass(frozen=True, slots=True)
class LimitCheck:
    """One bucket's verdict for one request: how long until it could pay."""

    key: str
    cost: float
    wait_s: float
    capacity: float


def bucket_key(kind: str, route: str | None = None) -> str:
    """``rpm`` / ``tpm`` for the tenant, ``route:<route>:rpm`` / ``...:tpm`` per route."""
    return kind if route is None else f"route:{route}:{kind}"


@dataclass(frozen=True, slots=True)
class TenantState:
    """Everything admission remembers about one tenant; the value of its table row."""

    buckets: Mapping[str, Bucket] = field(default_factory=dict)
    budget: BudgetState = field(default_factory=BudgetState)

    def to_dict(self) -> dict[str, object]:
        return {
            "buckets": {key: b.to_dict() for key, b in self.buckets.items()},
            "budget": self.budget.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TenantState:
        buckets = data.get("buckets", {})
        budget = data.get("budget", {})
        assert isinstance(buckets, Mapping) and isinstance(budget, Mapping)
        return cls(
            buckets={key: Bucket.from_dict(value) for key, value in buckets.items()},
            budget=BudgetState.from_dict(budget),
        )


def _limits_for(limits: TenantLimits, route: str) -> Iterator[tuple[str, int]]:
    """``(bucket key, per-minute limit)`` for every limit that applies to a request on ``route``."""
    if limits.rpm is not None:
        yield "rpm", limits.rpm
    if limits.tpm is not None:
        yield "tpm", limits.tpm
    route_limits = limits.routes.get(route)
    if route_limits is not None:
        if route_limits.rpm is not None:
            yield bucket_key("rpm", route), route_limits.rpm
        if route_limits.tpm is not None:
            yield bucket_key("tpm", route), route_limits.tpm


def _current_bucket(state: TenantState, key: str, limit: int, now: float) -> Bucket:
    bucket = state.buckets.get(key)
    if bucket is None:
        return Bucket.per_minute(limit, now)
    if bucket.capacity != limit:
        # The operator changed the limit: keep the tenant's fill ratio (and debt)
        # rather than handing out a fresh full bucket on every config reload.
        ratio = bucket.tokens / bucket.capacity
        return Bucket(float(limit), ratio * limit, limit / 60.0, bucket.updated_at)
    return bucket


def check_tenant(
    state: TenantState, limits: TenantLimits, route: str, tokens: int, now: float
) -> tuple[dict[str, Bucket], list[LimitCheck]]:
    """Refill the request's buckets and say what each would need; takes nothing."""
    refilled: dict[str, Bucket] = {}
    checks: list[LimitCheck] = []
    for key, limit in _limits_for(limits, route):
        cost = float(tokens) if key.endswith("tpm") else 1.0
        bucket, wait = wait_for(_current_bucket(state, key, limit, now), cost, now)
        refilled[key] = bucket
        checks.append(LimitCheck(key=key, cost=cost, wait_s=wait, capacity=bucket.capacity))
    return refilled, checks


def commit_tenant(state: TenantState, refilled: dict[str, Bucket], checks: list[LimitCheck]) -> TenantState:
    """Take every check's cost from its refilled bucket (all checks must have wait 0)."""
    buckets = dict(state.buckets)
    for check in checks:
        buckets[check.key] = take(refilled[check.key], check.cost)
    return TenantState(buckets=buckets, budget=state.budget)


def settle_tokens(
    state: TenantState, limits: TenantLimits, route: str, estimated: int, actual: int, now: float
) -> TenantState:
    """Correct the TPM buckets once the call's real token usage is known.

    ``actual < estimated`` refunds the difference; ``actual > estimated`` charges
    it, possibly into debt (see :mod:`tokenyard.admission.bucket`). Buckets whose
    limit was removed since admission are left alone.
    """
    if estimated < 0 or actual < 0:
        raise ValueError("estimated and actual tokens must be >= 0")
    delta = float(actual - estimated)
    if delta == 0:
        return state
    buckets = dict(state.buckets)
    for key, limit in _limits_for(limits, route):
        if key.endswith("tpm"):
            buckets[key] = charge(_current_bucket(state, key, limit, now), delta, now)
    return TenantState(buckets=buckets, budget=state.budget)
