"""Provider-account limits shared exactly by every tenant and worker: quota leases.

A provider account (the API key a target uses) has one RPM and one TPM for the
whole gateway. Tenant limits are exact because the request topic is
partitioned by tenant; an account's limit is not per tenant, so something must
split it between workers. The options:

* ``limit / replicas`` per worker, or worse ``limit`` per worker (so
  ``limit × replicas`` in total): wrong as soon as load is uneven or a worker
  joins, dies or rebalances; the second is the bug users report in other
  gateways.
* Route every request by account (repartition on the account key): exact, but
  every request pays one more broker hop (~10 ms here, more under load), and
  all tenants of a popular account are serialised through one partition, so one
  noisy tenant delays everyone and the account's partition bounds throughput.
* **Quota leases** (what this module does). The account's quota for each window
  of ``window_s`` seconds is handed out in pieces by a single owner: the worker
  that owns the account's partition of the ``tokenyard.quota`` topic (keyed by
  account). A worker admits locally, with no hop, against quota it holds; it
  asks for more before it runs out (one hop per *lease*, not per request) and
  gives back what it did not use. The owner's :class:`LeaseLedger` never lets
  the quota granted in a window exceed the window's limit, so the sum admitted
  by all workers cannot exceed it either, however many workers run. Leases die
  with their window, so a crashed worker's quota is back at the next window
  without any coordination.

Messages on the quota topic are the values below (:class:`LeaseRequest`,
:class:`Lease`, :class:`LeaseDenied`, :class:`LeaseReturn`). Every lease has an
id, so a redelivered grant or return is applied once.

Clock skew: a lease is valid until the end of the owner's window. A worker
whose clock runs ``δ`` behind the owner's would keep using it ``δ`` into the
next window; :class:`LocalQuota` therefore stops ``skew_margin_s`` early. Keep
the workers' clocks synchronised (NTP) to well under that margin.

Adaptive control (:mod:`tokenyard.admission.adaptive`) acts on both sides: the
owner grants against ``limit × factor``, and a worker that sees a 429 scales
its own held quota down at once (:func:`observe_response`) instead of spending
the rest of its lease into a provider that is refusing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AccountLimits


def window_of(now: float, window_s: float) -> int:
    return math.floor(now / window_s)


def per_window(per_minute: int | None, window_s: float) -> float | None:
    """A per-minute limit as a whole number of units per window (``None``: unlimited)."""
    return None if per_minute is None else float(math.floor(per_minute * window_s / 60.0))


@dataclass(frozen=True, slots=True)
class LeaseRequest:
    account: str
    worker_id: str
    requests: float
    tokens: float


@dataclass(frozen=True, slots=True)
class Lease:
    lease_id: str
    account: str
    worker_id: str
    window: int
    requests: float
    tokens: float
    expires_at: float


@dataclass(frozen=True, slots=True)
class LeaseDenied:
    """Nothing left in this window; ask again at ``retry_at``."""

    account: str
    worker_id: str
    window: int
    retry_at: float


@dataclass(frozen=True, slots=True)
class LeaseReturn:
    """Unused quota of the listed leases. Negative amounts report use beyond them."""

    account: str
    worker_id: str
    window: int
    lease_ids: tuple[str, ...]
    requests: float
    tokens: float


@dataclass(frozen=True, slots=True)
class OpenLease:
    worker_id: str
    requests: float
    tokens: float


@dataclass(frozen=True, slots=True)
class LeaseLedger:
    """The owner's book for one account: what is granted in the current window.

    Invariant (property-tested): for each limited dimension,
    ``granted <= limit`` at all times, where ``granted`` is the quota handed out
    in the window minus quota handed back. Use reported beyond a lease
    (``overused``) is not granted quota; it only shrinks later grants.
    """

    account: str
    limit_requests: float | None
    limit_tokens: float | None
    window_s: float = 60.0
    lease_fraction: float = 0.1
    window: int = -1
    granted_requests: float = 0.0
    granted_tokens: float = 0.0
    overused_requests: float = 0.0
    overused_tokens: float = 0.0
    open_leases: Mapping[str, OpenLease] = field(default_factory=dict)
    sequence: int = 0

    @classmethod
    def for_account(cls, account: str, limits: AccountLimits) -> LeaseLedger:
        return cls(
            account=account,
            limit_requests=per_window(limits.rpm, limits.window_s),
            limit_tokens=per_window(limits.tpm, limits.window_s),
            window_s=limits.window_s,
            lease_fraction=limits.lease_fraction,
        )

    def at(self, now: float) -> LeaseLedger:
        """The ledger in the window containing ``now``; a new window starts empty."""
        window = window_of(now, self.window_s)
        if window <= self.window:  # also when the clock steps back: never reopen a window
            return self
        return replace(
            self,
            window=window,
            granted_requests=0.0,
            granted_tokens=0.0,
            overused_requests=0.0,
            overused_tokens=0.0,
            open_leases={},
        )

    def _grantable(self, asked: float, limit: float | None, granted: float, overused: float, factor: float) -> float:
        if limit is None:
            return asked
        left = limit * factor - granted - overused
        largest = max(1.0, math.floor(limit * self.lease_fraction))
        return float(max(0, math.floor(min(asked, left, largest))))

    def grant(
        self, worker_id: str, requests: float, tokens: float, now: float, factor: float = 1.0
    ) -> tuple[LeaseLedger, Lease | LeaseDenied]:
        """Hand ``worker_id`` up to what it asks, within the window's (AIMD-scaled) limit."""
        if requests < 0 or tokens < 0 or not 0 <= factor <= 1:
            raise ValueError("requests and tokens must be >= 0 and factor in [0, 1]")
        ledger = self.at(now)
        give_requests = ledger._grantable(
            requests, ledger.limit_requests, ledger.granted_requests, ledger.overused_requests, factor
        )
        give_tokens = ledger._grantable(tokens, ledger.limit_tokens, ledger.granted_tokens, ledger.overused_tokens, factor)
        expires_at = (ledger.window + 1) * ledger.window_s
        if (requests > 0 and give_requests <= 0) or (tokens > 0 and give_tokens <= 0) or give_requests + give_tokens <= 0:
            return ledger, LeaseDenied(ledger.account, worker_id, ledger.window, retry_at=expires_at)
        lease = Lease(
            lease_id=f"{ledger.account}:{ledger.window}:{ledger.sequence}",
            account=ledger.account,
            worker_id=worker_id,
            window=ledger.window,
            requests=give_requests,
            tokens=give_tokens,
            expires_at=expires_at,
        )
        open_leases = dict(ledger.open_leases)
        open_leases[lease.lease_id] = OpenLease(worker_id, give_requests, give_tokens)
        return (
            replace(
                ledger,
                granted_requests=ledger.granted_requests + (give_requests if ledger.limit_requests is not None else 0.0),
                granted_tokens=ledger.granted_tokens + (give_tokens if ledger.limit_tokens is not None else 0.0),
                open_leases=open_leases,
                sequence=ledger.sequence + 1,
            ),
            lease,
        )

    def give_back(self, returned: LeaseReturn, now: float) -> LeaseLedger:
        """Take back unused quota. A return for another window, or naming a lease
        that is not open (a redelivery), changes nothing."""
        ledger = self.at(now)
        if returned.window != ledger.window or not returned.lease_ids:
            return ledger
        if any(lease_id not in ledger.open_leases for lease_id in returned.lease_ids):
            return ledger
        held = [ledger.open_leases[lease_id] for lease_id in returned.lease_ids]
        if any(lease.worker_id != returned.worker_id for lease in held):
            return ledger
        held_requests = sum(lease.requests for lease in held)
        held_tokens = sum(lease.tokens for lease in held)
        unused_requests = min(returned.requests, held_requests)
        unused_tokens = min(returned.tokens, held_tokens)
        open_leases = {k: v for k, v in ledger.open_leases.items() if k not in returned.lease_ids}
        granted_requests, overused_requests = _settle(ledger.granted_requests, ledger.overused_requests, unused_requests, ledger.limit_requests)
        granted_tokens, overused_tokens = _settle(ledger.granted_tokens, ledger.overused_tokens, unused_tokens, ledger.limit_tokens)
        return replace(
            ledger,
            granted_requests=granted_requests,
            granted_tokens=granted_tokens,
            overused_requests=overused_requests,
            overused_tokens=overused_tokens,
            open_leases=open_leases,
        )


def _settle(granted: float, overused: float, unused: float, limit: float | None) -> tuple[float, float]:
    if limit is None:
        return granted, overused
    if unused >= 0:
        return max(0.0, granted - unused), overused
    return granted, overused - unused


@dataclass(frozen=True, slots=True)
class LocalQuota:
    """A worker's holding of one account's quota for the current window."""

    account: str
    window: int = -1
    requests: float = 0.0
    tokens: float = 0.0
    expires_at: float = 0.0
    lease_ids: frozenset[str] = field(default_factory=frozenset)
    pending_since: float | None = None
    denied_until: float = 0.0
    skew_margin_s: float = 0.5

    def usable(self, now: float) -> bool:
        return now < self.expires_at - self.skew_margin_s

    def available(self, now: float) -> tuple[float, float]:
        return (self.requests, self.tokens) if self.usable(now) else (0.0, 0.0)

    def wait_s(self, requests: float, tokens: float, now: float, lease_retry_s: float) -> float:
        """0 if the quota held covers the cost now; else when to look again."""
        have_requests, have_tokens = self.available(now)
        if have_requests >= requests and have_tokens >= tokens:
            return 0.0
        if self.denied_until > now:
            return self.denied_until - now
        return lease_retry_s

    def take(self, requests: float, tokens: float) -> LocalQuota:
        return replace(self, requests=self.requests - requests, tokens=self.tokens - tokens)

    def apply(self, message: Lease | LeaseDenied, now: float) -> LocalQuota:
        """Fold the owner's answer in; stale and repeated answers change nothing."""
        if isinstance(message, LeaseDenied):
            if message.window < self.window:
                return self
            return replace(self, denied_until=max(self.denied_until, message.retry_at), pending_since=None)
        if message.lease_id in self.lease_ids or message.window < self.window or now >= message.expires_at:
            return self
        if message.window > self.window:
            # The old window's leases are dead; keep only a debt carried over
            # from corrections (extra usage), never old credit.
            return replace(
                self,
                window=message.window,
                requests=message.requests + min(0.0, self.requests),
                tokens=message.tokens + min(0.0, self.tokens),
                expires_at=message.expires_at,
                lease_ids=frozenset({message.lease_id}),
                pending_since=None,
                denied_until=0.0,
            )
        return replace(
            self,
            requests=self.requests + message.requests,
            tokens=self.tokens + message.tokens,
            lease_ids=self.lease_ids | {message.lease_id},
            pending_since=None,
        )

    def lease_request(
        self, worker_id: str, limits: AccountLimits, now: float, need_tokens: float = 0.0, resend_after_s: float = 2.0
    ) -> tuple[LocalQuota, LeaseRequest | None]:
        """Ask for a lease when running low (below half a lease), unless one is on its way."""
        if self.pending_since is not None and now - self.pending_since < resend_after_s:
            return self, None
        if self.denied_until > now:
            return self, None
        chunk_requests = per_window(limits.rpm, limits.window_s)
        chunk_tokens = per_window(limits.tpm, limits.window_s)
        ask_requests = 0.0 if chunk_requests is None else max(1.0, math.floor(chunk_requests * limits.lease_fraction))
        ask_tokens = 0.0 if chunk_tokens is None else max(1.0, math.floor(chunk_tokens * limits.lease_fraction))
        have_requests, have_tokens = self.available(now)
        low_requests = chunk_requests is not None and have_requests < max(1.0, ask_requests / 2)
        low_tokens = chunk_tokens is not None and have_tokens < max(need_tokens, ask_tokens / 2)
        if not (low_requests or low_tokens):
            return self, None
        ask_tokens = max(ask_tokens, need_tokens - have_tokens) if chunk_tokens is not None else 0.0
        return (
            replace(self, pending_since=now),
            LeaseRequest(self.account, worker_id, requests=ask_requests, tokens=ask_tokens),
        )

    def refund(self, window: int, requests: float, tokens: float) -> LocalQuota:
        """Give back what was taken in ``window`` and not used (only into that window)."""
        if window != self.window:
            return self
        return replace(self, requests=self.requests + requests, tokens=self.tokens + tokens)

    def correct_tokens(self, window: int, delta: float) -> LocalQuota:
        """Real usage minus the estimate taken in ``window``. A refund only goes
        back into the window it was taken from; an extra charge always lands."""
        if delta < 0 and window != self.window:
            return self
        return replace(self, tokens=self.tokens - delta)

    def release(self, worker_id: str, now: float) -> tuple[LocalQuota, LeaseReturn | None]:
        """Give back everything held (worker idle, stopping, or losing the account)."""
        if not self.lease_ids or not self.usable(now):
            return replace(self, lease_ids=frozenset(), requests=min(0.0, self.requests), tokens=min(0.0, self.tokens)), None
        returned = LeaseReturn(
            account=self.account,
            worker_id=worker_id,
            window=self.window,
            lease_ids=tuple(sorted(self.lease_ids)),
            requests=self.requests,
            tokens=self.tokens,
        )
        return replace(self, requests=0.0, tokens=0.0, lease_ids=frozenset()), returned


@dataclass(frozen=True, slots=True)
class AccountState:
    """What one worker knows about one provider account."""

    quota: LocalQuota
    rate: AdaptiveRate = field(default_factory=AdaptiveRate)

    @classmethod
    def fresh(cls, account: str, rate: AdaptiveRate | None = None) -> AccountState:
        return cls(quota=LocalQuota(account=account), rate=rate or AdaptiveRate())


def observe_response(state: AccountState, status: int, headers: Mapping[str, str], now: float) -> AccountState:
    """Worker side of AIMD: fold a provider response in; on a cut, shrink held quota at once.

    The pause (Retry-After) needs no action here: admission reads it from ``rate``.
    """
    before = state.rate.current_factor(now)
    rate = state.rate.on_response(status, headers, now)
    quota = state.quota
    if rate.last_cut_at != state.rate.last_cut_at and before > 0:
        ratio = min(1.0, rate.factor / before)
        quota = replace(
            quota,
            requests=math.floor(quota.requests * ratio) if quota.requests > 0 else quota.requests,
            tokens=math.floor(quota.tokens * ratio) if quota.tokens > 0 else quota.tokens,
        )
    return AccountState(quota=quota, rate=rate)
