"""The admission decision: one pure function over one request.

``decide(state, facts, now, config)`` returns the new state and one of

* :class:`Admit`: send it now. Its costs are already taken from every bucket
  and from the account quota; ``warnings`` go into the reply (soft budgets).
* :class:`Defer`: re-queue it with ``not_before`` (the earliest time every limit
  would let it through). Nothing was taken.
* :class:`Reject`: answer with ``error`` and never send it: ``deadline_exceeded``
  when the earliest possible admission is after the request's deadline (less
  ``min_time_to_deadline_s``, the least time a provider call needs),
  ``budget_exceeded`` at a hard budget, ``rate_limited`` (with ``retry_after``)
  when over a limit and the tenant's policy is ``reject``, ``prompt_too_large``
  when the request's estimated tokens exceed a TPM bucket's capacity and so can
  never be admitted.

The checks, in order: deadline already past; hard budget; every tenant and
tenant+route bucket; account pause (Retry-After) and the account quota this
worker holds. The request waits for the slowest of them; nothing is taken
unless all pass at once.

:class:`AdmissionState` is the state of one decision: the tenant's row (the
agent's Faust table keyed by tenant) and this worker's view of the account.
After the call, :func:`settle` corrects the estimates with the real usage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tokenyard.admission.accounts import AccountState, LeaseRequest, per_window
from tokenyard.admission.budget import SpendOutcome, apply_cost, check_budget, event_key
from tokenyard.admission.config import AccountLimits, AdmissionConfig
from tokenyard.admission.limits import TenantState, check_tenant, commit_tenant, estimate_tokens, settle_tokens
from tokenyard.errors import AdmissionError, DeadlineExceeded, PromptTooLarge, RateLimited, RequestError
from tokenyard.schemas.records import Request


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What admission needs to know about one request."""

    request_id: str
    tenant: str
    route: str
    account: str | None
    estimated_tokens: int
    priority: str
    deadline: float | None = None  # epoch seconds


def facts_from_request(
    request: Request,
    route_account: str | Mapping[str, str] | None,
    default_max_tokens: int | Mapping[str, int],
    tenant_priority: str | None = None,
) -> RequestFacts:
    """Build the facts from a wire request.

    ``tenant_priority`` (the tenant's configured ``priority``) applies when the
    request itself does not name one.

    ``route_account`` is the provider account of the route's first target, or a
    mapping route -> account; ``default_max_tokens`` the output allowance when
    the request sets none, or a mapping route -> allowance.
    """
    account = route_account.get(request.model) if isinstance(route_account, Mapping) else route_account
    if request.params.max_tokens is not None:
        max_tokens = request.params.max_tokens
    elif isinstance(default_max_tokens, Mapping):
        max_tokens = default_max_tokens[request.model]
    else:
        max_tokens = default_max_tokens
    return RequestFacts(
        request_id=request.request_id,
        tenant=request.tenant,
        route=request.model,
        account=account,
        estimated_tokens=estimate_tokens(request.prompt_chars(), len(request.messages), max_tokens),
        priority=request.priority.value if request.priority is not None else tenant_priority or "normal",
        deadline=None if request.deadline_ms is None else request.deadline_ms / 1000.0,
    )


@dataclass(frozen=True, slots=True)
class AdmissionState:
    tenant: TenantState = field(default_factory=TenantState)
    account: AccountState | None = None


@dataclass(frozen=True, slots=True)
class Admit:
    estimated_tokens: int
    account_window: int | None = None  # the lease window the account quota came from
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Defer:
    not_before: float
    reason: str
    warnings: tuple[str, ...] = ()
    # True when the provider account (quota or Retry-After pause) is what is short,
    # not the tenant's own limits: the request then waits in the account's fair queue.
    by_account: bool = False


@dataclass(frozen=True, slots=True)
class Reject:
    error: AdmissionError | RequestError


Outcome = Admit | Defer | Reject


def _deadline_error(facts: RequestFacts, earliest: float, reason: str) -> Reject:
    return Reject(
        DeadlineExceeded(
            f"request {facts.request_id!r} cannot be admitted before its deadline "
            f"({reason}; earliest {earliest:.3f}, deadline {facts.deadline:.3f})",
            earliest_admission=round(earliest, 3),
            deadline=facts.deadline,
        )
    )


def _too_large(facts: RequestFacts, scope: str, capacity: float) -> Reject:
    return Reject(
        PromptTooLarge(
            f"request {facts.request_id!r} is estimated at {facts.estimated_tokens} tokens "
            f"(prompt + max_tokens), more than {scope} allows at once ({capacity:g}); "
            "lower max_tokens or shorten the prompt",
            estimated_tokens=facts.estimated_tokens,
            limit=scope,
        )
    )


def decide(
    state: AdmissionState, facts: RequestFacts, now: float, config: AdmissionConfig
) -> tuple[AdmissionState, Outcome]:
    cutoff = None if facts.deadline is None else facts.deadline - config.min_time_to_deadline_s
    if cutoff is not None and now >= cutoff:
        return state, _deadline_error(facts, now, "deadline already passed or too close to serve")
    limits = config.tenant(facts.tenant)

    budget = check_budget(state.tenant.budget, limits, facts.tenant, now)
    if budget.exceeded is not None:
        return state, Reject(budget.exceeded)

    refilled, checks = check_tenant(state.tenant, limits, facts.route, facts.estimated_tokens, now)
    wait, blocker, tenant_limited = 0.0, "", False
    for check in checks:
        if math.isinf(check.wait_s):
            return state, _too_large(facts, f"tenant {facts.tenant!r} {check.key} limit", check.capacity)
        if check.wait_s > wait:
            wait, blocker, tenant_limited = check.wait_s, f"tenant {check.key} limit", True

    account_limits = config.account(facts.account) if facts.account is not None else None
    account = state.account
    need_requests = need_tokens = 0.0
    if account_limits is not None:
        if account is None:
            account = AccountState.fresh(facts.account)  # type: ignore[arg-type]
        window_tokens = per_window(account_limits.tpm, account_limits.window_s)
        if window_tokens is not None and facts.estimated_tokens > window_tokens:
            return state, _too_large(facts, f"provider account {facts.account!r} token limit per window", window_tokens)
        need_requests = 0.0 if account_limits.rpm is None else 1.0
        need_tokens = 0.0 if account_limits.tpm is None else float(facts.estimated_tokens)
        if account.rate.paused(now):
            pause = account.rate.paused_until - now
            if pause > wait:
                wait, blocker, tenant_limited = pause, f"provider account {facts.account!r} paused (Retry-After)", False
        quota_wait = account.quota.wait_s(need_requests, need_tokens, now, config.lease_retry_s)
        if quota_wait > wait:
            wait, blocker, tenant_limited = quota_wait, f"provider account {facts.account!r} quota", False

    if wait > 0:
        earliest = now + wait
        if cutoff is not None and earliest > cutoff:
            return state, _deadline_error(facts, earliest, blocker)
        if limits.over_limit == "reject" and tenant_limited:
            return state, Reject(
                RateLimited(
                    f"tenant {facts.tenant!r} is over its {blocker.removeprefix('tenant ')}; retry in {wait:.3f}s",
                    retry_after=wait,
                )
            )
        return state, Defer(not_before=earliest, reason=blocker, warnings=budget.warnings, by_account=not tenant_limited)

    tenant = commit_tenant(state.tenant, refilled, checks)
    account_window = None
    if account is not None and account_limits is not None:
        account = AccountState(quota=account.quota.take(need_requests, need_tokens), rate=account.rate)
        account_window = account.quota.window
    return AdmissionState(tenant=tenant, account=account), Admit(
        estimated_tokens=facts.estimated_tokens, account_window=account_window, warnings=budget.warnings
    )


def settle(
    state: AdmissionState,
    facts: RequestFacts,
    admitted: Admit,
    actual_tokens: int,
    now: float,
    config: AdmissionConfig,
) -> AdmissionState:
    """Correct the tenant buckets and the account quota with the real token usage."""
    limits = config.tenant(facts.tenant)
    tenant = settle_tokens(state.tenant, limits, facts.route, admitted.estimated_tokens, actual_tokens, now)
    account = state.account
    if account is not None and admitted.account_window is not None:
        account_limits = config.account(facts.account) if facts.account is not None else None
        if account_limits is not None and account_limits.tpm is not None:
            quota = account.quota.correct_tokens(admitted.account_window, actual_tokens - admitted.estimated_tokens)
            account = AccountState(quota=quota, rate=account.rate)
    return AdmissionState(tenant=tenant, account=account)


def record_spend(
    tenant: TenantState, request_id: str, attempt: int, cost_usd: Decimal, at: float
) -> tuple[TenantState, SpendOutcome]:
    """Feed one completed request's real cost (event time ``at``) into the tenant's budget; idempotent."""
    budget, outcome = apply_cost(tenant.budget, event_key(request_id, attempt), cost_usd, at)
    return TenantState(buckets=tenant.buckets, budget=budget), outcome


def charge_call(
    account: AccountState, limits: AccountLimits, estimated_tokens: int, now: float, lease_retry_s: float
) -> tuple[AccountState, float | None]:
    """Take one provider call's quota from ``account``: a fallback or in-place retry call.

    Returns the new state and ``None`` when taken, or the unchanged state and
    the seconds until the account may have quota again (paused, or not enough
    held): the caller skips the target instead of exceeding the account.
    """
    if account.rate.paused(now):
        return account, account.rate.paused_until - now
    need_requests = 0.0 if limits.rpm is None else 1.0
    need_tokens = 0.0 if limits.tpm is None else float(estimated_tokens)
    wait = account.quota.wait_s(need_requests, need_tokens, now, lease_retry_s)
    if wait > 0:
        return account, wait
    return AccountState(quota=account.quota.take(need_requests, need_tokens), rate=account.rate), None


def lease_request_for(
    state: AdmissionState, facts: RequestFacts, now: float, config: AdmissionConfig, worker_id: str
) -> tuple[AdmissionState, LeaseRequest | None]:
    """The lease this worker should ask the account's owner for now, if any.

    Call it after :func:`decide` (whatever the outcome) and publish the request
    to the quota topic keyed by account; it asks only when the quota held runs
    low and no earlier request is still unanswered.
    """
    account_limits = config.account(facts.account) if facts.account is not None else None
    if account_limits is None:
        return state, None
    account = state.account or AccountState.fresh(facts.account)  # type: ignore[arg-type]
    quota, request = account.quota.lease_request(worker_id, account_limits, now, need_tokens=facts.estimated_tokens)
    if request is None and state.account is not None:
        return state, None
    return AdmissionState(tenant=state.tenant, account=AccountState(quota=quota, rate=account.rate)), request
