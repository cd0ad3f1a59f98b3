"""The two pure steps of quota leasing, one per side, each a state transition.

* :func:`serve_quota_message`, on the account's owner: a worker's lease
  request, return or rate report in, the new ledger and adaptive rate out,
  with the answer to publish (a lease, a denial, or a rate update for every
  worker).
* :func:`fold_grant`, on a worker: the owner's answer folded into what this
  worker knows about the account.

AIMD on both sides: the owner grants against ``limit × factor`` (its
:class:`AdaptiveRate`, moved by the 429s and Retry-Afters workers report), and
broadcasts each cut or pause so that every worker stops at once and scales
down the quota it already holds, not only the worker that saw the 429.
"""

from __future__ import annotations

from dataclasses import replace

from tokenyard.admission.accounts import AccountState, LeaseDenied, LeaseLedger, LeaseRequest, LeaseReturn
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.provider_signals import LimitReading, RateLimitSignal
from tokenyard.admission.quota_messages import GrantMessage, QuotaMessage, RateReport, RateUpdate


def serve_quota_message(
    ledger: LeaseLedger, rate: AdaptiveRate, message: QuotaMessage, now: float
) -> tuple[LeaseLedger, AdaptiveRate, GrantMessage | None]:
    """The owner's step for one message about ``ledger.account``."""
    if isinstance(message, LeaseRequest):
        ledger, answer = ledger.grant(
            message.worker_id, message.requests, message.tokens, now, factor=rate.current_factor(now)
        )
        if isinstance(answer, LeaseDenied) and rate.paused(now):
            # Paused, not spent: look again when the pause ends, not at the window's end.
            answer = replace(answer, retry_at=min(answer.retry_at, rate.paused_until))
        return ledger, rate, answer
    if isinstance(message, LeaseReturn):
        return ledger.give_back(message, now), rate, None
    # A Retry-After (or a reset) counts from when the worker saw it, not from when it got here.
    retry_after = None
    if message.retry_after_s is not None:
        retry_after = max(0.0, message.at + message.retry_after_s - now)
    reading = None
    if message.remaining_fraction is not None:
        reset = None if message.reset_s is None else max(0.0, message.at + message.reset_s - now)
        reading = LimitReading(limit=1.0, remaining=message.remaining_fraction, reset_s=reset)
    signal = RateLimitSignal(retry_after_s=retry_after or None, requests=reading)
    updated = rate.on_signal(message.status, signal, now)
    if updated.last_cut_at == rate.last_cut_at and updated.paused_until == rate.paused_until:
        return ledger, updated, None
    return ledger, updated, rate_update(ledger.account, updated)


def rate_update(account: str, rate: AdaptiveRate) -> RateUpdate:
    return RateUpdate(
        account=account,
        factor=rate.factor,
        updated_at=rate.updated_at,
        paused_until=rate.paused_until,
        last_cut_at=rate.last_cut_at,
    )


def adopt_rate(state: AccountState, update: RateUpdate, now: float) -> AccountState:
    """Take the owner's rate: the longer pause, the newer cut; held quota shrinks with a cut."""
    mine = state.rate
    newer_cut = update.last_cut_at is not None and (mine.last_cut_at is None or update.last_cut_at > mine.last_cut_at)
    rate = replace(
        mine,
        factor=update.factor if newer_cut else mine.factor,
        updated_at=update.updated_at if newer_cut else mine.updated_at,
        last_cut_at=update.last_cut_at if newer_cut else mine.last_cut_at,
        paused_until=max(mine.paused_until, update.paused_until),
    )
    before, after = mine.recovered_factor(now), rate.recovered_factor(now)
    quota = state.quota
    if newer_cut and 0 < after < before:
        ratio = after / before
        quota = replace(
            quota,
            requests=float(int(quota.requests * ratio)) if quota.requests > 0 else quota.requests,
            tokens=float(int(quota.tokens * ratio)) if quota.tokens > 0 else quota.tokens,
        )
    return AccountState(quota=quota, rate=rate)


def fold_grant(state: AccountState, message: GrantMessage, now: float) -> AccountState:
    """A worker's step for one message from the owner addressed to it (or to all)."""
    if isinstance(message, RateUpdate):
        return adopt_rate(state, message, now)
    return AccountState(quota=state.quota.apply(message, now), rate=state.rate)


def rate_report(account: str, worker_id: str, before: AccountState, after: AccountState,
                status: int, retry_after_s: float | None, now: float,
                signal: RateLimitSignal | None = None) -> RateReport | None:
    """What to tell the owner after observing a response: only a new cut or pause."""
    if after.rate.last_cut_at == before.rate.last_cut_at and after.rate.paused_until == before.rate.paused_until:
        return None
    return RateReport(
        account=account, worker_id=worker_id, status=status, retry_after_s=retry_after_s, at=now,
        remaining_fraction=None if signal is None else signal.lowest_remaining_fraction,
        reset_s=None if signal is None else signal.exhausted_until_s,
    )
