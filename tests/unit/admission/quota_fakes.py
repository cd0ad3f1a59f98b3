"""In-memory stand-ins for the admission stage's state topic and quota client.

The quota owner is the real :class:`LeaseLedger`, answering in-process after
``hop_s`` (one broker hop on Kafka), so leases arrive as they would.
"""

from __future__ import annotations

import asyncio
import time

from tokenyard.admission.accounts import AccountState, LeaseLedger, LeaseRequest
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AdmissionConfig
from tokenyard.admission.quota_flow import fold_grant
from tokenyard.agents.admission import TenantStates


class MemoryStates:
    """PartitionState's surface, in memory."""

    def __init__(self) -> None:
        self.views: dict[int, TenantStates] = {}
        self.appended: list[tuple[int, bytes, bytes]] = []

    async def view(self, partition: int) -> TenantStates:
        return self.views.setdefault(partition, TenantStates())

    async def append(self, partition: int, key: bytes, value: bytes) -> None:
        self.appended.append((partition, key, value))


class WindowStartClock:
    """Wall time shifted so a test starts 1 s into a lease window: no window ends mid-test."""

    def __init__(self, window_s: float) -> None:
        self.shift = time.time() % window_s - 1.0

    def __call__(self) -> float:
        return time.time() - self.shift


class InProcessQuota:
    """QuotaClient's surface; lease requests answered by each account's real LeaseLedger after ``hop_s``.

    ``lease_cap`` caps each grant (in requests), to make quota arrive in small pieces.
    """

    def __init__(self, config: AdmissionConfig, hop_s: float = 0.003, lease_cap: float | None = None,
                 clock=time.time):
        self.config, self.hop_s, self.lease_cap, self.clock = config, hop_s, lease_cap, clock
        self.ledgers = {name: LeaseLedger.for_account(name, limits) for name, limits in config.accounts.items()}
        self.worker_id = "w1"
        self.states: dict[str, AccountState] = {}
        self.listeners: list = []
        self.asked = 0
        self.reports: list = []

    def get(self, account: str) -> AccountState:
        return self.states.get(account) or AccountState.fresh(account, AdaptiveRate(policy=self.config.aimd))

    def put(self, account: str, state: AccountState) -> None:
        self.states[account] = state

    def subscribe(self, listener) -> None:
        self.listeners.append(listener)

    async def ready(self) -> None:
        return None

    async def ask(self, request: LeaseRequest) -> None:
        self.asked += 1
        asyncio.get_running_loop().call_later(self.hop_s, self._answer, request)

    async def report(self, report) -> None:
        self.reports.append(report)

    def _answer(self, request: LeaseRequest) -> None:
        wanted = request.requests if self.lease_cap is None else min(request.requests, self.lease_cap)
        ledger = self.ledgers[request.account]
        self.ledgers[request.account], answer = ledger.grant(request.worker_id, wanted, request.tokens, self.clock())
        self.states[request.account] = fold_grant(self.get(request.account), answer, self.clock())
        for listener in self.listeners:
            listener(request.account)
