"""Every provider call of an admitted request, charged to the account it hits.

Admission takes one call's quota (a request, and the token estimate) from the
account of the request's first target. The provider layer may then call other
targets (fallback) or the same one again (in-place retries); each of those
calls is a request to *its* account and must fit that account's limit too. The
fallback loop asks :meth:`CallCharges.permit` before every call:

* the first call on the account admission charged uses that charge;
* any other call takes quota from this worker's holding for its account now
  (:func:`~tokenyard.admission.decide.charge_call`), asking the owner for a
  lease when the holding runs low (and, when nothing is held yet, waiting one
  lease round trip, at most ``lease_retry_s``). With too little held, or the
  account paused or denied for this window, the call is not made: the target is skipped as ``account_quota``
  (retriable, with when to come back) and the route's fallback policy goes on,
  so an account's limit is never exceeded by fallbacks or retries.

After the request (:meth:`settle`), each account's token charge is corrected
with the real usage of the calls it got, and a charge that was never used
(its target was skipped before any call) goes back to its window.

Extra calls take quota directly, not through the account's fair queue: they
belong to requests that were already admitted and are running.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokenyard.admission.accounts import AccountState
from tokenyard.admission.config import AccountLimits, AdmissionConfig
from tokenyard.admission.decide import AdmissionState, Admit, RequestFacts, charge_call, facts_from_request, lease_request_for
from tokenyard.agents.quota import QuotaClient
from tokenyard.providers.base import Attempt
from tokenyard.schemas.records import Request

# Requests admitted but never settled (a bug or a crash between the two) must not
# grow the book forever: past this many, the oldest are forgotten.
MAX_OPEN_REQUESTS = 10_000


@dataclass(slots=True)
class Charge:
    account: str
    window: int
    requests: float
    tokens: float
    used: bool


class CallCharges:
    def __init__(
        self,
        *,
        config: AdmissionConfig,
        quota: QuotaClient,
        clock: Callable[[], float] = time.time,
        on_refund: Callable[[str], None] = lambda account: None,
    ) -> None:
        self.config = config
        self.quota = quota
        self.clock = clock
        self.on_refund = on_refund
        self._open: dict[str, list[Charge]] = {}
        self._grant_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self.refused = 0  # calls not made for want of quota (for tests and metrics)

    def _needs(self, account: str, estimated_tokens: int) -> tuple[float, float]:
        limits = self.config.account(account)
        assert limits is not None
        return (0.0 if limits.rpm is None else 1.0), (0.0 if limits.tpm is None else float(estimated_tokens))

    def admitted(self, facts: RequestFacts, admit: Admit) -> None:
        """Admission took one call's quota from ``facts.account``: the first call there uses it."""
        if facts.account is None or admit.account_window is None:
            return
        requests, tokens = self._needs(facts.account, admit.estimated_tokens)
        self._remember(facts.request_id, Charge(facts.account, admit.account_window, requests, tokens, used=False))

    def _remember(self, request_id: str, charge: Charge) -> None:
        charges = self._open.get(request_id)
        if charges is None:
            while len(self._open) >= MAX_OPEN_REQUESTS:
                del self._open[next(iter(self._open))]
            charges = self._open[request_id] = []
        charges.append(charge)

    async def permit(self, request: Request, account: str) -> float | None:
        """Before a call to ``account`` for ``request``: ``None`` (go, charged) or seconds to wait."""
        limits = self.config.account(account)
        if limits is None:
            return None
        for charge in self._open.get(request.request_id, ()):
            if charge.account == account and not charge.used:
                charge.used = True
                return None
        facts = facts_from_request(request, account, self.config.default_max_tokens,
                                   self.config.tenant(request.tenant).priority.value)
        await self.quota.ready()  # reading grants (the admitted account may have had no limit)
        wait = await self._take(request.request_id, account, limits, facts)
        if wait is not None and self._lease_on_its_way(account):
            # Nothing held for this account yet (say the first fallback to it): one
            # lease round trip, not longer, then skip the target if still nothing.
            await self._granted(account, self.config.lease_retry_s)
            wait = await self._take(request.request_id, account, limits, facts)
        if wait is not None:
            self.refused += 1
        return wait

    async def _take(self, request_id: str, account: str, limits: AccountLimits, facts: RequestFacts) -> float | None:
        now = self.clock()
        after, wait = charge_call(self.quota.get(account), limits, facts.estimated_tokens, now, self.config.lease_retry_s)
        if wait is None:
            requests, tokens = self._needs(account, facts.estimated_tokens)
            self._remember(request_id, Charge(account, after.quota.window, requests, tokens, used=True))
        state, lease = lease_request_for(AdmissionState(account=after), facts, now, self.config, self.quota.worker_id)
        self.quota.put(account, state.account or after)
        if lease is not None:
            self._grant_waiters.setdefault(account, [])  # a grant from now on wakes _granted
            await self.quota.ask(lease)
        return wait

    def _lease_on_its_way(self, account: str) -> bool:
        state = self.quota.get(account)
        return state.quota.pending_since is not None and not state.rate.paused(self.clock())

    async def _granted(self, account: str, timeout: float) -> None:
        """Until the owner answers about ``account`` (or ``timeout``)."""
        waiter = asyncio.get_running_loop().create_future()
        self._grant_waiters.setdefault(account, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            pass

    def on_grant(self, account: str) -> None:
        """The quota client folded an answer about ``account`` in."""
        for waiter in self._grant_waiters.pop(account, ()):
            if not waiter.done():
                waiter.set_result(None)

    def settle(self, request_id: str, attempts: Sequence[Attempt]) -> None:
        """Correct each account's charges with its calls' real tokens; give back unused charges."""
        charges = self._open.pop(request_id, None)
        if not charges:
            return
        by_account: dict[str, list[Charge]] = defaultdict(list)
        for charge in charges:
            by_account[charge.account].append(charge)
        for account, held in by_account.items():
            limits = self.config.account(account)
            if limits is None:
                continue
            state = self.quota.get(account)
            quota = state.quota
            for charge in held:
                if not charge.used:
                    quota = quota.refund(charge.window, charge.requests, charge.tokens)
            used = [c for c in held if c.used]
            if used and limits.tpm is not None:
                actual = sum(a.usage.input_tokens + a.usage.output_tokens for a in attempts if a.provider == account)
                quota = quota.correct_tokens(used[-1].window, actual - sum(c.tokens for c in used))
            self.quota.put(account, AccountState(quota=quota, rate=state.rate))
            self.on_refund(account)

    def open_requests(self) -> int:
        return len(self._open)
