"""Provider-account quota leases: the sum granted never exceeds the account limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.admission.accounts import (
    Lease,
    LeaseDenied,
    LeaseLedger,
    LocalQuota,
    per_window,
)
from tokenyard.admission.config import AccountLimits

LIMITS = AccountLimits(rpm=600, tpm=60_000, window_s=60, lease_fraction=0.1)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("ask"), st.integers(0, 4), st.integers(0, 200), st.integers(0, 20_000)),
        st.tuples(st.just("use"), st.integers(0, 4), st.integers(0, 30), st.integers(0, 5_000)),
        st.tuples(st.just("return"), st.integers(0, 4), st.just(0), st.just(0)),
        st.tuples(st.just("tick"), st.just(0), st.integers(0, 40), st.just(0)),
        st.tuples(st.just("redeliver"), st.integers(0, 4), st.just(0), st.just(0)),
    ),
    max_size=120,
)


@settings(deadline=None, max_examples=300)
@given(ops=ops, factor=st.sampled_from([1.0, 0.5, 0.1]))
def test_grants_and_admissions_never_exceed_the_account_limit(ops, factor) -> None:
    """Any interleaving of grants, use, returns, redeliveries and window expiry across 5 workers."""
    ledger = LeaseLedger.for_account("acct", LIMITS)
    workers = {w: LocalQuota("acct") for w in range(5)}
    last_message: dict[int, Lease | LeaseDenied] = {}
    used: dict[int, list[float]] = {}  # window -> [requests, tokens] admitted by all workers
    now = 0.0
    for op, worker, a, b in ops:
        if op == "tick":
            now += a
        elif op == "ask":
            ledger, message = ledger.grant(f"w{worker}", a, b, now, factor=factor)
            last_message[worker] = message
            workers[worker] = workers[worker].apply(message, now)
        elif op == "redeliver" and worker in last_message:
            workers[worker] = workers[worker].apply(last_message[worker], now)
        elif op == "use":
            quota = workers[worker]
            requests, tokens = float(a > 0), float(b)
            if quota.wait_s(requests, tokens, now, lease_retry_s=1) == 0:
                workers[worker] = quota.take(requests, tokens)
                totals = used.setdefault(quota.window, [0.0, 0.0])
                totals[0] += requests
                totals[1] += tokens
        elif op == "return":
            workers[worker], returned = workers[worker].release(f"w{worker}", now)
            if returned is not None:
                ledger = ledger.give_back(returned, now)
                ledger = ledger.give_back(returned, now)  # a redelivered return changes nothing
        assert ledger.granted_requests <= ledger.limit_requests
        assert ledger.granted_tokens <= ledger.limit_tokens
        assert sum(l.requests for l in ledger.open_leases.values()) <= ledger.limit_requests
    for requests, tokens in used.values():
        assert requests <= per_window(LIMITS.rpm, 60) and tokens <= per_window(LIMITS.tpm, 60)


def test_a_lease_is_at_most_a_fraction_of_the_window_and_denied_when_spent() -> None:
    ledger = LeaseLedger.for_account("acct", AccountLimits(rpm=10, tpm=1000, lease_fraction=0.5))
    ledger, first = ledger.grant("w1", 100, 100_000, now=5)
    assert isinstance(first, Lease) and (first.requests, first.tokens) == (5, 500)
    assert first.expires_at == 60 and first.lease_id == "acct:0:0"
    ledger, second = ledger.grant("w2", 100, 100_000, now=6)
    assert isinstance(second, Lease) and (second.requests, second.tokens) == (5, 500)
    ledger, third = ledger.grant("w3", 1, 1, now=7)
    assert isinstance(third, LeaseDenied) and third.retry_at == 60
    ledger, fourth = ledger.grant("w3", 1, 1, now=61)  # the next window starts empty
    assert isinstance(fourth, Lease) and ledger.window == 1


def test_unused_quota_given_back_can_be_granted_again_in_the_same_window() -> None:
    ledger = LeaseLedger.for_account("acct", AccountLimits(rpm=10, lease_fraction=1))
    ledger, lease = ledger.grant("w1", 10, 0, now=0)
    quota = LocalQuota("acct").apply(lease, now=0).take(3, 0)
    quota, returned = quota.release("w1", now=1)
    assert returned is not None and returned.requests == 7 and quota.requests == 0
    ledger = ledger.give_back(returned, now=1)
    assert ledger.granted_requests == 3
    ledger, again = ledger.grant("w2", 10, 0, now=2)
    assert isinstance(again, Lease) and again.requests == 7


def test_aimd_factor_shrinks_new_grants() -> None:
    ledger = LeaseLedger.for_account("acct", AccountLimits(rpm=100, lease_fraction=1))
    ledger, lease = ledger.grant("w", 100, 0, now=0, factor=0.25)
    assert lease.requests == 25
    _, denied = ledger.grant("w", 1, 0, now=1, factor=0.25)
    assert isinstance(denied, LeaseDenied)


def test_returns_for_other_windows_or_other_workers_are_ignored() -> None:
    ledger = LeaseLedger.for_account("acct", AccountLimits(rpm=100, lease_fraction=1))
    ledger, lease = ledger.grant("w1", 50, 0, now=0)
    quota = LocalQuota("acct").apply(lease, now=0)
    _, returned = quota.release("w2", now=1)  # claims someone else's lease
    assert ledger.give_back(returned, now=1).granted_requests == 50
    _, returned = quota.release("w1", now=1)
    assert ledger.give_back(returned, now=61).granted_requests == 0  # window over: ledger reset anyway


def test_overuse_reported_in_a_return_shrinks_later_grants() -> None:
    ledger = LeaseLedger.for_account("acct", AccountLimits(tpm=1000, lease_fraction=1))
    ledger, lease = ledger.grant("w", 0, 400, now=0)
    quota = LocalQuota("acct").apply(lease, now=0).take(0, 400).correct_tokens(lease.window, 100)
    quota, returned = quota.release("w", now=1)
    assert returned.tokens == -100
    ledger = ledger.give_back(returned, now=1)
    _, next_lease = ledger.grant("w", 0, 1000, now=2)
    assert next_lease.tokens == 500


def test_local_quota_ignores_repeated_and_stale_leases_and_expires_early_for_skew() -> None:
    lease = Lease("acct:0:0", "acct", "w", 0, 10, 100, expires_at=60)
    quota = LocalQuota("acct").apply(lease, now=1).apply(lease, now=2)
    assert quota.available(2) == (10, 100)
    assert quota.available(59.6) == (0, 0)  # 0.5 s skew margin before the window ends
    newer = Lease("acct:1:0", "acct", "w", 1, 4, 40, expires_at=120)
    quota = quota.apply(newer, now=61)
    assert quota.available(61) == (4, 40)  # old window's credit does not carry over
    assert quota.apply(lease, now=62) == quota  # stale
    assert quota.apply(Lease("acct:0:9", "acct", "w", 0, 1, 1, 60), now=70) == quota


def test_local_quota_refunds_only_into_the_window_they_came_from() -> None:
    quota = LocalQuota("acct").apply(Lease("a:1:0", "acct", "w", 1, 5, 100, 120), now=61)
    assert quota.correct_tokens(window=1, delta=-30).tokens == 130
    assert quota.correct_tokens(window=0, delta=-30).tokens == 100
    assert quota.correct_tokens(window=0, delta=30).tokens == 70


def test_lease_request_asks_once_when_low_and_waits_out_a_denial() -> None:
    quota = LocalQuota("acct")
    quota, request = quota.lease_request("w", LIMITS, now=0)
    assert request is not None and (request.requests, request.tokens) == (60, 6000)
    assert quota.lease_request("w", LIMITS, now=1)[1] is None  # one already on its way
    assert quota.lease_request("w", LIMITS, now=2.5)[1] is not None  # answer lost: ask again
    quota = quota.apply(LeaseDenied("acct", "w", 0, retry_at=60), now=3)
    assert quota.lease_request("w", LIMITS, now=10)[1] is None
    assert quota.wait_s(1, 1, now=10, lease_retry_s=0.25) == pytest.approx(50)
    _, big = LocalQuota("acct").lease_request("w", LIMITS, now=0, need_tokens=9000)
    assert big.tokens == 9000


def test_ledger_refuses_negative_asks() -> None:
    with pytest.raises(ValueError):
        LeaseLedger.for_account("acct", LIMITS).grant("w", -1, 0, now=0)
