"""The admission stage: tenant rate limits and budgets before a request costs money.

The math is :func:`tokenyard.admission.decide`; this stage keeps each tenant's
state (token buckets, spend) in a view of the ``admission`` state topic,
co-partitioned with requests (requests are keyed by tenant, so the owner of a
partition is the only worker deciding for its tenants: limits are exact however
many workers run). Every change is written as a versioned snapshot of the
tenant's state; a rebuild keeps the highest version per tenant.

A decision and its local state update happen with no ``await`` in between, so
concurrent requests of one tenant never both spend the same tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import orjson

from tokenyard.admission.config import AdmissionConfig
from tokenyard.admission.decide import (
    AdmissionState,
    Admit,
    Defer,
    Reject,
    RequestFacts,
    decide,
    facts_from_request,
    record_spend,
    settle,
)
from tokenyard.admission.limits import TenantState
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


class AdmissionStage:
    def __init__(
        self,
        *,
        config: AdmissionConfig,
        states: PartitionState[TenantStates],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.states = states
        self.clock = clock

    async def decide(self, request: Request, partition: int) -> Ticket | Defer | Reject:
        view = await self.states.view(partition)
        facts = facts_from_request(request, None, self.config.default_max_tokens)
        state = AdmissionState(tenant=view.get(request.tenant))
        new_state, outcome = decide(state, facts, self.clock(), self.config)
        if not isinstance(outcome, Admit):
            return outcome
        snapshot = view.put(request.tenant, new_state.tenant)
        await self.states.append(partition, request.tenant.encode(), snapshot)
        return Ticket(facts, outcome)

    async def settle(
        self, ticket: Ticket, partition: int, *, tokens: int, cost: Decimal, request_id: str, attempts: int
    ) -> None:
        """Correct the token estimate with real usage and add the real cost to the budgets."""
        view = await self.states.view(partition)
        now = self.clock()
        tenant = ticket.facts.tenant
        state = settle(AdmissionState(tenant=view.get(tenant)), ticket.facts, ticket.admit, tokens, now, self.config)
        spent, _ = record_spend(state.tenant, request_id, attempts, cost, now)
        await self.states.append(partition, tenant.encode(), view.put(tenant, spent))
