"""Quota leasing steps: wire form, owner steps with AIMD, worker folding, restart exactness."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.admission.accounts import (
    AccountState,
    Lease,
    LeaseDenied,
    LeaseLedger,
    LeaseRequest,
    LeaseReturn,
    LocalQuota,
)
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AccountLimits, AdmissionConfig, AimdPolicy
from tokenyard.admission.decide import AdmissionState, Reject, RequestFacts, decide
from tokenyard.admission.quota_flow import adopt_rate, fold_grant, rate_report, serve_quota_message
from tokenyard.admission.quota_messages import (
    RateReport,
    RateUpdate,
    decode,
    encode,
    ledger_snapshot,
    restore_ledger,
)
from tokenyard.agents.quota import LedgerBook

LIMITS = AccountLimits(rpm=120, window_s=10, lease_fraction=0.25)  # 20 per window, leases of 5
POLICY = AimdPolicy(decrease_factor=0.5, increase_per_s=0.1, cut_cooldown_s=2)


def fresh() -> tuple[LeaseLedger, AdaptiveRate]:
    return LeaseLedger.for_account("acct", LIMITS), AdaptiveRate(policy=POLICY)


@pytest.mark.parametrize(
    "message",
    [
        LeaseRequest("acct", "w1", 5.0, 0.0),
        LeaseReturn("acct", "w1", 3, ("acct:3:0", "acct:3:1"), 2.0, -1.0),
        RateReport("acct", "w1", 429, 1.5, 100.0),
        RateReport("acct", "w1", 429, None, 100.0),
        Lease("acct:3:0", "acct", "w1", 3, 5.0, 0.0, 40.0),
        LeaseDenied("acct", "w1", 3, 40.0),
        RateUpdate("acct", 0.5, 100.0, 101.0, 100.0),
    ],
)
def test_every_message_survives_the_wire(message) -> None:
    assert decode(encode(message)) == message


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "empty"),
        (b"{nope", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"type": "gift", "account": "a"}', "unknown quota record type 'gift'"),
        (b'{"type": "lease_request", "account": "a"}', "bad lease_request record"),
    ],
)
def test_bad_records_are_named(raw: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        decode(raw)


def test_a_restored_ledger_is_the_ledger_that_was_saved() -> None:
    ledger, rate = fresh()
    ledger, _ = ledger.grant("w1", 5, 0, now=31.0)
    ledger, _ = ledger.grant("w2", 5, 0, now=32.0)
    rate = rate.on_response(429, {"retry-after": "2"}, now=33.0)
    version, restored, restored_rate = restore_ledger(
        orjson.loads(ledger_snapshot(7, ledger, rate)), "acct", LIMITS, POLICY
    )
    assert version == 7 and restored == ledger
    assert restored_rate.to_dict() == rate.to_dict()


def test_the_owner_grants_up_to_the_window_then_denies_until_it_ends() -> None:
    ledger, rate = fresh()
    granted = 0.0
    for worker in ("w1", "w2", "w1", "w2", "w1"):
        ledger, rate, answer = serve_quota_message(ledger, rate, LeaseRequest("acct", worker, 5, 0), now=31.0)
        if isinstance(answer, Lease):
            granted += answer.requests
    assert granted == 20
    assert isinstance(answer, LeaseDenied) and answer.retry_at == 40.0


def test_a_429_with_retry_after_cuts_pauses_and_is_broadcast() -> None:
    ledger, rate = fresh()
    ledger, rate, update = serve_quota_message(ledger, rate, RateReport("acct", "w1", 429, 1.0, at=30.0), now=30.2)
    assert isinstance(update, RateUpdate) and update.worker_id == "*"
    assert update.factor == 0.5 and update.paused_until == pytest.approx(31.0)
    # paused: a lease request is denied only until the pause ends, not the whole window
    ledger, rate, answer = serve_quota_message(ledger, rate, LeaseRequest("acct", "w2", 5, 0), now=30.5)
    assert isinstance(answer, LeaseDenied) and answer.retry_at == pytest.approx(31.0)
    # after the pause: grants against half the limit (10 of 20)
    total = 0.0
    for _ in range(5):
        ledger, rate, answer = serve_quota_message(ledger, rate, LeaseRequest("acct", "w2", 5, 0), now=31.0)
        total += answer.requests if isinstance(answer, Lease) else 0
    assert total == 10


def test_a_repeated_429_without_a_new_cut_or_pause_is_not_broadcast() -> None:
    ledger, rate = fresh()
    ledger, rate, _ = serve_quota_message(ledger, rate, RateReport("acct", "w1", 429, None, at=30.0), now=30.0)
    _, _, again = serve_quota_message(ledger, rate, RateReport("acct", "w2", 429, None, at=30.5), now=30.5)
    assert again is None


def test_workers_adopt_the_owners_cut_once_and_shrink_held_quota() -> None:
    state = AccountState(quota=LocalQuota("acct", window=3, requests=8, expires_at=40.0), rate=AdaptiveRate(policy=POLICY))
    update = RateUpdate("acct", factor=0.5, updated_at=30.0, paused_until=31.0, last_cut_at=30.0)
    once = fold_grant(state, update, now=30.0)
    assert once.quota.requests == 4 and once.rate.paused(30.5) and not once.rate.paused(31.0)
    assert fold_grant(once, update, now=30.1) == once  # a redelivered update changes nothing
    older = RateUpdate("acct", factor=0.25, updated_at=20.0, paused_until=0.0, last_cut_at=20.0)
    assert adopt_rate(once, older, now=30.2).rate.factor == 0.5


def test_a_worker_reports_only_new_cuts_or_pauses() -> None:
    before = AccountState.fresh("acct", AdaptiveRate(policy=POLICY))
    after = AccountState(quota=before.quota, rate=before.rate.on_response(429, {}, now=5.0))
    assert rate_report("acct", "w1", before, after, 429, None, 5.0) is not None
    assert rate_report("acct", "w1", after, after, 429, None, 5.1) is None


def test_a_request_too_close_to_its_deadline_is_refused_before_taking_quota() -> None:
    config = AdmissionConfig(min_time_to_deadline_s=0.5)
    facts = RequestFacts("r1", "t", "default", None, 10, "normal", deadline=100.3)
    state, outcome = decide(AdmissionState(), facts, now=100.0, config=config)
    assert isinstance(outcome, Reject) and outcome.error.code == "deadline_exceeded"
    assert state == AdmissionState()


def test_the_ledger_book_keeps_the_newest_snapshot_per_account() -> None:
    config = AdmissionConfig(accounts={"acct": LIMITS}, aimd=POLICY)
    book = LedgerBook(config)
    ledger, rate = fresh()
    newer, _ = ledger.grant("w1", 5, 0, now=31.0)
    book.apply(b"acct", ledger_snapshot(2, newer, rate))
    book.apply(b"acct", ledger_snapshot(1, ledger, rate))  # an older record read later
    book.apply(b"gone", ledger_snapshot(5, ledger, rate))  # an account no longer configured
    assert book.get("acct")[0] == newer
    assert book.put("acct", ledger, rate) and book.get("acct")[0] == ledger


ops = st.lists(
    st.one_of(
        st.tuples(st.just("ask"), st.integers(0, 3), st.integers(1, 8)),
        st.tuples(st.just("tick"), st.just(0), st.integers(0, 7)),
        st.tuples(st.just("restart"), st.just(0), st.just(0)),
        st.tuples(st.just("lost_answer"), st.integers(0, 3), st.integers(1, 8)),
        st.tuples(st.just("429"), st.integers(0, 3), st.integers(0, 3)),
    ),
    max_size=80,
)


@settings(deadline=None, max_examples=300)
@given(ops=ops)
def test_owner_restarts_never_grant_a_window_twice(ops) -> None:
    """The owner persists each step's snapshot before answering; a restart
    rebuilds from the last snapshot. Leases handed out per window never exceed
    the window's limit, whatever the interleaving."""
    book = LedgerBook(AdmissionConfig(accounts={"acct": LIMITS}, aimd=POLICY))
    durable: list[bytes] = []  # the quota-state partition
    handed_out: dict[int, float] = {}
    now = 0.0

    def step(message) -> object:
        ledger, rate = book.get("acct")
        ledger, rate, answer = serve_quota_message(ledger, rate, message, now)
        durable.append(book.put("acct", ledger, rate))  # write-ahead
        return answer

    for op, worker, amount in ops:
        if op == "tick":
            now += amount
        elif op == "restart":
            book = LedgerBook(AdmissionConfig(accounts={"acct": LIMITS}, aimd=POLICY))
            for record in durable[:]:
                book.apply(b"acct", record)
        elif op in ("ask", "lost_answer"):
            answer = step(LeaseRequest("acct", f"w{worker}", float(amount), 0.0))
            if isinstance(answer, Lease) and op == "ask":
                handed_out[answer.window] = handed_out.get(answer.window, 0.0) + answer.requests
        elif op == "429":
            step(RateReport("acct", f"w{worker}", 429, float(amount) or None, now))
    assert all(total <= 20 for total in handed_out.values()), handed_out
