"""The admission stage: tenant and provider-account limits and budgets before a request costs money.

The math is :func:`tokenyard.admission.decide`; this stage keeps each tenant's
state (token buckets, spend) in a view of the ``admission`` state topic,
co-partitioned with requests (requests are keyed by tenant, so the owner of a
partition is the only worker deciding for its tenants: limits are exact however
many workers run). Every change is written as a versioned snapshot of the
tenant's state; a rebuild keeps the highest version per tenant.

A decision and its local state update happen with no ``await`` in between, so
concurrent requests of one tenant never both spend the same tokens.

Provider accounts (``[admission.accounts.NAME]``, NAME = the provider name of
a target) span tenants and so partitions: they are enforced with quota leases
(:mod:`tokenyard.agents.quota`). A request is admitted against the account of
the first target the router will call for it; every further call (fallback to
another target, in-place retry) is charged to the account it hits when it is
made (:mod:`tokenyard.agents.call_charges`, :meth:`AdmissionStage.permit_call`),
and every answer's signals feed that account's adaptive rate
(:meth:`AdmissionStage.observe`).

When an account is short, who gets its quota next is decided by the account's
fair queue (:mod:`tokenyard.agents.waiting_room`): priority with aging, then
weighted fair share across tenants.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import orjson

from tokenyard.admission.accounts import observe_response
from tokenyard.admission.config import AdmissionConfig
from tokenyard.admission.decide import (
    AdmissionState,
    Admit,
    Defer,
    Reject,
    RequestFacts,
    decide,
    facts_from_request,
    lease_request_for,
    record_spend,
    settle,
)
from tokenyard.admission.limits import TenantState
from tokenyard.admission.provider_signals import parse_rate_limit_headers
from tokenyard.admission.quota_flow import rate_report
from tokenyard.agents.call_charges import CallCharges
from tokenyard.agents.quota import QuotaClient
from tokenyard.agents.waiting_room import Trial, WaitingRoom
from tokenyard.providers.base import Attempt
from tokenyard.providers.http_call import RETRY_AFTER_HEADERS
from tokenyard.schemas.records import Request
from tokenyard.streams.partition_state import MARKER_KEY, PartitionState


class TenantStates:
    """The admission view of one partition: tenant -> (version, state)."""

    def __init__(self) -> None:
        self._states: dict[str, tuple[int, TenantState]] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None or key == MARKER_KEY or value is None:
            return
        record = orjson.loads(value)
        tenant, version = key.decode(), int(record["version"])
        if version > self._states.get(tenant, (0, TenantState()))[0]:
            self._states[tenant] = (version, TenantState.from_dict(record["state"]))

    def get(self, tenant: str) -> TenantState:
        return self._states.get(tenant, (0, TenantState()))[1]

    def put(self, tenant: str, state: TenantState) -> bytes:
        """Replace the tenant's state locally; returns the snapshot record to persist."""
        version = self._states.get(tenant, (0, TenantState()))[0] + 1
        self._states[tenant] = (version, state)
        return orjson.dumps({"version": version, "state": state.to_dict()}, default=str)


@dataclass(frozen=True)
class Ticket:
    """An admitted request, to settle with its real usage afterwards."""

    facts: RequestFacts
    admit: Admit
    tracked: bool = True  # False: the tenant has no limit, so there is no state to keep


class AdmissionStage:
    def __init__(
        self,
        *,
        config: AdmissionConfig,
        states: PartitionState[TenantStates],
        clock: Callable[[], float] = time.time,
        quota: QuotaClient | None = None,
        account_of: Callable[[Request], str | None] | None = None,
    ) -> None:
        self.config = config
        self.states = states
        self.clock = clock
        self.quota = quota
        self.account_of = account_of
        self.room: WaitingRoom | None = None
        self.calls: CallCharges | None = None
        if quota is not None:
            self.room = WaitingRoom(config=config, try_admit=self._try, ask_lease=quota.ask, clock=clock)
            quota.subscribe(self.room.wake)
            self.calls = CallCharges(config=config, quota=quota, clock=clock, on_refund=self.room.wake)
            quota.subscribe(self.calls.on_grant)

    async def permit_call(self, request: Request, account: str) -> float | None:
        """The provider layer's gate before each call: charge it to ``account``, or say how long to wait."""
        if self.calls is None:
            return None
        return await self.calls.permit(request, account)

    def _tenant_is_limited(self, tenant: str) -> bool:
        """Whether any rate limit or budget applies to ``tenant``.

        An unlimited tenant's requests write no admission state at all: its buckets
        and spend would only be bookkeeping nobody enforces (ClickHouse still has
        every cost). A budget added later counts spend from then on.
        """
        limits = self.config.tenant(tenant)
        spend = (limits.daily.soft_usd, limits.daily.hard_usd, limits.monthly.soft_usd, limits.monthly.hard_usd)
        return bool(limits.rpm or limits.tpm or limits.routes or any(v is not None for v in spend))

    def _limited_account(self, request: Request) -> str | None:
        """The request's provider account if it has limits (and leases are wired)."""
        if self.quota is None or self.account_of is None or not self.config.accounts:
            return None
        account = self.account_of(request)
        return account if account is not None and self.config.account(account) is not None else None

    def _try(self, facts: RequestFacts, view: object, now: float, commit: bool) -> Trial:
        """One decision with no ``await`` inside; with ``commit`` its state changes are kept."""
        assert isinstance(view, TenantStates)
        account = facts.account
        state = AdmissionState(
            tenant=view.get(facts.tenant), account=None if account is None else self.quota.get(account)  # type: ignore[union-attr]
        )
        new_state, outcome = decide(state, facts, now, self.config)
        if not commit:
            return Trial(outcome)
        lease = None
        if account is not None:
            assert self.quota is not None
            new_state, lease = lease_request_for(new_state, facts, now, self.config, self.quota.worker_id)
            if new_state.account is not None:
                self.quota.put(account, new_state.account)
        snapshot = None
        if isinstance(outcome, Admit) and self._tenant_is_limited(facts.tenant):
            snapshot = view.put(facts.tenant, new_state.tenant)
        return Trial(outcome, lease, snapshot)

    async def decide(
        self, request: Request, partition: int, *, wait_until: float | None = None
    ) -> Ticket | Defer | Reject:
        """Admit, defer or reject ``request``.

        With ``wait_until``, a request short of its provider account's quota waits
        in the account's fair queue (:mod:`tokenyard.agents.waiting_room`) until
        then at most; without it, the decision is immediate.
        """
        view = await self.states.view(partition)
        account = self._limited_account(request)
        if account is not None:
            assert self.quota is not None
            await self.quota.ready()
        facts = facts_from_request(request, account, self.config.default_max_tokens,
                                   self.config.tenant(request.tenant).priority.value)
        if account is not None and wait_until is not None and self.room is not None:
            trial = await self.room.admit(facts, view, wait_until)
        else:
            trial = self._try(facts, view, self.clock(), True)
            if trial.lease is not None:
                assert self.quota is not None
                await self.quota.ask(trial.lease)
        outcome = trial.outcome
        if not isinstance(outcome, Admit):
            return outcome
        if self.calls is not None:
            self.calls.admitted(facts, outcome)
        if trial.snapshot is None:
            return Ticket(facts, outcome, tracked=False)
        await self.states.append(partition, request.tenant.encode(), trial.snapshot)
        return Ticket(facts, outcome)

    async def settle(
        self, ticket: Ticket, partition: int, *, tokens: int, cost: Decimal, request_id: str, attempts: int
    ) -> None:
        """Correct the tenant's token estimate with real usage and add the real cost to the budgets.

        Provider accounts are corrected per call in :meth:`observe` (each call
        was charged to the account it hit).
        """
        if not ticket.tracked:
            return
        view = await self.states.view(partition)
        now = self.clock()
        tenant = ticket.facts.tenant
        state = settle(AdmissionState(tenant=view.get(tenant)), ticket.facts, ticket.admit, tokens, now, self.config)
        spent, _ = record_spend(state.tenant, request_id, attempts, cost, now)
        await self.states.append(partition, tenant.encode(), view.put(tenant, spent))

    async def observe(self, ticket: Ticket | None, attempts: list[Attempt]) -> None:
        """Settle each account's call charges, then AIMD: fold what each answer says about its rate.

        A 429 (or 529) cuts the rate, a Retry-After pauses the account, and the
        rate-limit headers of any answer, successful ones included
        (``x-ratelimit-remaining-*``, ``anthropic-ratelimit-*``), cut it when
        little is left and pause it when a limit is exhausted until its reset,
        before the provider has to refuse. This worker stops at once (pause,
        held quota scaled down); a new cut or pause is reported to the account's
        owner, which lowers its grants and tells every other worker. Runs after
        the call: a retry the provider layer makes in place is therefore not
        seen until the request ends (the provider layer's own Retry-After hold
        covers that target meanwhile).
        """
        if self.quota is None or not self.config.accounts:
            return
        if self.calls is not None and ticket is not None:
            self.calls.settle(ticket.facts.request_id, attempts)
        now = self.clock()
        reports = []
        for attempt in attempts:
            error = attempt.error
            if self.config.account(attempt.provider) is None:
                continue
            headers = dict(attempt.rate_limits)
            if error is not None and error.retry_after is not None and not RETRY_AFTER_HEADERS & headers.keys():
                headers["retry-after"] = f"{error.retry_after:.3f}"  # said in the body, not a header
            if not headers and (error is None or error.status is None):
                continue  # plain successes, timeouts, broken streams: nothing about the account's rate
            status = 200 if error is None else error.status or 0
            before = self.quota.get(attempt.provider)
            after = observe_response(before, status, headers, now)
            self.quota.put(attempt.provider, after)
            retry_after = None if error is None else error.retry_after
            report = rate_report(attempt.provider, self.quota.worker_id, before, after, status, retry_after, now,
                                 parse_rate_limit_headers(headers, now))
            if report is not None:
                reports.append(report)
        for report in reports:
            await self.quota.report(report)
