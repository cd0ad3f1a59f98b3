"""Who gets a provider account's quota when it is short: one fair queue per account.

Without it, every request waiting for an account polls on its own and whoever
looks first after a lease arrives takes it, in effect arrival order: a tenant
that floods a shared account holds most of the waiting requests and so takes
most of the quota, and a low-priority request can go before a high one.

Here a request that admission defers *because of the account* (its quota, or
a Retry-After pause; never the tenant's own limits) waits in the account's
:class:`~tokenyard.admission.scheduler.FairScheduler` (strict priority with
aging, then weighted fair queuing across tenants). Quota is handed out only
by :meth:`WaitingRoom._release`, head of the queue first, whenever it may have
changed: a lease or rate update arrives, a refund settles, or every
``lease_retry_s`` while anyone waits. While anyone waits for an account, a new
request for it joins the queue instead of taking quota directly, so no one
bypasses the order. With no one waiting, the normal path is unchanged: one
pure decision, no extra task, no extra broker round trip.

A waiting request holds an agent slot, so it may wait inline only until its
caller's ``wait_until`` (the gateway's ``inline_defer_s``). Then one waiter must
leave for the deferred topic: the one the queue would serve *last* (a flood's
tail), not necessarily the one whose time ran out, which keeps its place for
another period. A request leaves itself when it is the last, unless it is
among the next lease's worth to be served (those few wait on: the deferred
agent would bring them back behind everything re-queued earlier), and at its
deadline (``deadline_exceeded``), unserved and uncharged. When it comes back
from the deferred topic it rejoins with its first arrival time, so aging keeps
counting; a tenant's fair-queuing clock outlives its visits too.

The room is one worker's: each worker's share of an account is what its
leases carry (``lease_fraction`` bounds how much one worker holds), and
fairness across tenants of one partition, or of one worker, is decided here.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from tokenyard.admission.accounts import LeaseRequest
from tokenyard.admission.config import AdmissionConfig
from tokenyard.admission.decide import Admit, Defer, Reject, RequestFacts
from tokenyard.admission.scheduler import FairScheduler

# How long a request's first arrival is remembered after it last left the room
# (re-queued on the deferred topic), so that aging survives the round trip.
FIRST_SEEN_TTL_S = 600.0


@dataclass(frozen=True)
class Trial:
    """One attempt to admit: the outcome, a lease to ask for, the tenant snapshot to persist."""

    outcome: Admit | Defer | Reject
    lease: LeaseRequest | None = None
    snapshot: bytes | None = None


# (facts, tenant view, now, commit) -> Trial. With commit=False nothing is taken.
TryAdmit = Callable[[RequestFacts, object, float, bool], Trial]


@dataclass(eq=False)
class Waiter:
    facts: RequestFacts
    view: object  # the tenant state view the decision reads and writes
    wait_until: float = math.inf  # when its inline time is up (the gateway's slot)
    patience: float = 0.0  # its inline time, renewed when another waiter leaves in its place
    released: asyncio.Future[Trial] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    # what FairScheduler orders by
    @property
    def tenant(self) -> str:
        return self.facts.tenant

    @property
    def priority(self) -> str:
        return self.facts.priority

    @property
    def estimated_tokens(self) -> int:
        return self.facts.estimated_tokens


class WaitingRoom:
    def __init__(
        self,
        *,
        config: AdmissionConfig,
        try_admit: TryAdmit,
        ask_lease: Callable[[LeaseRequest], Awaitable[None]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.try_admit = try_admit
        self.ask_lease = ask_lease
        self.clock = clock
        self._queues: dict[str, FairScheduler[Waiter]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._dispatchers: dict[str, asyncio.Task[None]] = {}
        self._first_seen: dict[str, tuple[float, float]] = {}  # request_id -> (first arrival, last seen)
        self._swept_at = 0.0
        self.released = 0  # requests admitted through the room (for tests and metrics)

    def waiting(self, account: str) -> int:
        queue = self._queues.get(account)
        return 0 if queue is None else len(queue)

    def wake(self, account: str) -> None:
        """Capacity may have changed (a lease, a rate update, a refund)."""
        event = self._wakeups.get(account)
        if event is not None:
            event.set()

    async def admit(self, facts: RequestFacts, view: object, wait_until: float) -> Trial:
        """Admit ``facts`` now, or wait in the account's fair queue until ``wait_until``.

        Returns a committed :class:`Trial`; a :class:`Defer` means the caller
        should re-queue the request (the room could not serve it in time).
        """
        account = facts.account
        assert account is not None
        now = self.clock()
        if not self.waiting(account):
            trial = self.try_admit(facts, view, now, True)
            outcome = trial.outcome
            if not (isinstance(outcome, Defer) and outcome.by_account) or wait_until <= now:
                self._forget(facts.request_id, outcome)
                return trial
            if trial.lease is not None:
                await self.ask_lease(trial.lease)
        waiter = Waiter(facts, view, wait_until=wait_until, patience=max(0.0, wait_until - now))
        self._queue(account).push(waiter, self._arrival(facts.request_id, now))
        self._ensure_dispatcher(account)
        await self._release_and_ask(account)
        cutoff = math.inf if facts.deadline is None else facts.deadline - self.config.min_time_to_deadline_s
        try:
            while not waiter.released.done():
                now = self.clock()
                limit = min(waiter.wait_until, cutoff)
                if limit <= now:
                    if now >= cutoff or waiter.patience <= 0:
                        break
                    if not (self._evict_behind(waiter, now) or self._next_served(waiter, now)):
                        break
                    waiter.wait_until = now + waiter.patience  # keep its place for another period
                    continue
                try:
                    await asyncio.wait_for(asyncio.shield(waiter.released), limit - now)
                except TimeoutError:
                    pass
        finally:
            if not waiter.released.done():
                self._queue(account).remove(waiter)
                waiter.released.cancel()
        trial = self._leaving(waiter) if waiter.released.cancelled() else waiter.released.result()
        self._forget(facts.request_id, trial.outcome)
        return trial

    def _evict_behind(self, waiter: Waiter, now: float) -> bool:
        """``waiter``'s inline time is up: free a slot by sending the queue's last away instead.

        Every waiter holds an agent slot, so one must leave; the one that would be
        served last leaves (to the deferred topic), not the one whose time ran out.
        A flood's tail therefore waits on the deferred topic while a quiet tenant's
        request, ahead of it in the fair order, keeps its place here.
        """
        queue = self._queue(waiter.facts.account)  # type: ignore[arg-type]
        victim = queue.last(now)
        if victim is None or victim is waiter:
            return False
        queue.remove(victim)
        victim.released.set_result(self._leaving(victim))
        return True

    def _next_served(self, waiter: Waiter, now: float) -> bool:
        """Whether ``waiter`` is among the next lease's worth to be served.

        Those few keep waiting past their inline time: on the deferred topic they
        would come back behind everything re-queued before them (its agent serves
        in log order), and the account's next quota is theirs anyway. So at most
        one lease's worth of requests per account holds a slot that long.
        """
        account = waiter.facts.account
        assert account is not None
        limits = self.config.account(account)
        lease = 1
        if limits is not None and limits.rpm is not None:
            lease = max(1, math.floor(math.floor(limits.rpm * limits.window_s / 60.0) * limits.lease_fraction))
        return any(w is waiter for w in self._queue(account).first(now, lease))

    def _leaving(self, waiter: Waiter) -> Trial:
        """The decision for a waiter leaving unserved: it takes nothing.

        Quota that fits now belongs to whoever is ahead, so an admit becomes a
        short defer; a defer is never earlier than the waiter's own inline limit,
        so the gateway re-queues it on the deferred topic rather than waiting again.
        """
        now = self.clock()
        trial = self.try_admit(waiter.facts, waiter.view, now, False)
        outcome = trial.outcome
        if isinstance(outcome, Admit):
            outcome = Defer(now + self.config.lease_retry_s,
                            f"waiting in provider account {waiter.facts.account!r}'s fair queue", by_account=True)
        if isinstance(outcome, Defer) and outcome.not_before <= waiter.wait_until:
            outcome = replace(outcome, not_before=waiter.wait_until + 0.001)
        return Trial(outcome)

    # -- the order ------------------------------------------------------------------

    def _release(self, account: str) -> list[LeaseRequest]:
        """Admit waiters head first while the account's quota covers the head.

        Synchronous (no await between a decision and the next), so nothing else
        takes the quota in between. Returns lease requests to send.
        """
        queue = self._queue(account)
        leases: list[LeaseRequest] = []
        now = self.clock()
        while len(queue):
            waiter = queue.peek(now)
            assert waiter is not None
            trial = self.try_admit(waiter.facts, waiter.view, now, True)
            if trial.lease is not None:
                leases.append(trial.lease)
            outcome = trial.outcome
            if isinstance(outcome, Defer) and outcome.by_account:
                break  # the head does not fit: nobody behind it may take the quota
            if isinstance(outcome, Admit):
                queue.pop_ready(now, lambda w: w is waiter, max_items=1)  # charges its tenant
                self.released += 1
            else:
                queue.remove(waiter)  # its own tenant limit, budget or deadline: no service, no charge
            waiter.released.set_result(trial)
        return leases

    async def _release_and_ask(self, account: str) -> None:
        for lease in self._release(account):
            await self.ask_lease(lease)

    def _ensure_dispatcher(self, account: str) -> None:
        if account not in self._wakeups:
            self._wakeups[account] = asyncio.Event()
        task = self._dispatchers.get(account)
        if task is None or task.done():
            self._dispatchers[account] = asyncio.ensure_future(self._dispatch(account))

    async def _dispatch(self, account: str) -> None:
        """Release waiters whenever capacity may have changed, while anyone waits."""
        event = self._wakeups[account]
        while self.waiting(account):
            event.clear()
            await self._release_and_ask(account)
            if not self.waiting(account):
                break
            try:
                await asyncio.wait_for(event.wait(), self.config.lease_retry_s)
            except TimeoutError:
                pass

    def _queue(self, account: str) -> FairScheduler[Waiter]:
        queue = self._queues.get(account)
        if queue is None:
            weights = {name: limits.weight for name, limits in self.config.tenants.items()}
            queue = self._queues[account] = FairScheduler(
                aging_s=self.config.aging_s, weights=weights, default_weight=self.config.default_tenant.weight
            )
        return queue

    # -- aging across visits ----------------------------------------------------------

    def _arrival(self, request_id: str, now: float) -> float:
        first, _ = self._first_seen.get(request_id, (now, now))
        self._first_seen[request_id] = (first, now)
        if now - self._swept_at > FIRST_SEEN_TTL_S / 10:
            self._swept_at = now
            stale = [rid for rid, (_, seen) in self._first_seen.items() if now - seen > FIRST_SEEN_TTL_S]
            for rid in stale:
                del self._first_seen[rid]
        return first

    def _forget(self, request_id: str, outcome: Admit | Defer | Reject) -> None:
        if not isinstance(outcome, Defer):
            self._first_seen.pop(request_id, None)

    async def stop(self) -> None:
        tasks = list(self._dispatchers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
