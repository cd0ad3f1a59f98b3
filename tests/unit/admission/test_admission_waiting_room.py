"""The account's fair queue wired into the admission stage: order of release, no
starvation, deadlines, timeouts. The stage is real; the quota owner is the real
LeaseLedger answering in-process after a short delay (one broker hop on Kafka)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter

from tests.unit.admission.quota_fakes import InProcessQuota, MemoryStates, WindowStartClock
from tokenyard.admission.config import AdmissionConfig
from tokenyard.admission.decide import Defer, Reject
from tokenyard.agents.admission import AdmissionStage, Ticket
from tokenyard.schemas.records import Request


CLOCK = WindowStartClock(600)


def config(**account) -> AdmissionConfig:
    return AdmissionConfig.model_validate({
        "accounts": {"acct": {"window_s": 600, **account}},
        "aging_s": 0.2,
        "lease_retry_s": 0.05,
        "min_time_to_deadline_s": 0.1,
    })


def stage(cfg: AdmissionConfig, **quota) -> tuple[AdmissionStage, InProcessQuota]:
    global CLOCK
    CLOCK = WindowStartClock(cfg.account("acct").window_s)
    client = InProcessQuota(cfg, clock=CLOCK, **quota)
    admission = AdmissionStage(config=cfg, states=MemoryStates(), quota=client, account_of=lambda r: "acct", clock=CLOCK)
    return admission, client


_ids = itertools.count()


def request(tenant: str, priority: str = "normal", deadline_in: float = 30.0) -> Request:
    return Request.model_validate({
        "request_id": f"r{next(_ids)}", "tenant": tenant, "model": "chat", "priority": priority,
        "messages": [{"role": "user", "content": "hi"}], "params": {"max_tokens": 10},
        "reply_to": "replies", "deadline_ms": int((CLOCK() + deadline_in) * 1000),
    })


async def admit_all(admission: AdmissionStage, requests: list[Request], order: list[Request],
                    wait_until: float = float("inf")) -> list:
    async def one(r: Request):
        decision = await admission.decide(r, 0, wait_until=wait_until)
        if isinstance(decision, Ticket):
            order.append(r)
        return decision

    return await asyncio.gather(*(one(r) for r in requests))


async def test_a_quiet_tenant_is_not_served_behind_a_noisy_tenants_flood() -> None:
    # 600 requests per window, handed out two at a time: the quota is not the limit,
    # the order in which it is handed out is.
    admission, quota = stage(config(rpm=60, lease_fraction=0.02), lease_cap=2)
    noisy = [request("noisy") for _ in range(60)]
    quiet = [request("quiet") for _ in range(5)]
    order: list[Request] = []
    decisions = await admit_all(admission, noisy + quiet, order)  # the flood is first in line
    assert all(isinstance(d, Ticket) for d in decisions) and len(order) == 65
    positions = [i for i, r in enumerate(order) if r.tenant == "quiet"]
    print(f"quiet admitted at positions {positions} of 65; leases asked {quota.asked}")
    # fair share: one of every two admissions while both wait, not after the flood
    assert positions[-1] <= 10, positions
    assert admission.room is not None and admission.room.waiting("acct") == 0


async def test_weights_split_a_contended_account() -> None:
    cfg = AdmissionConfig.model_validate({
        **config(rpm=60, lease_fraction=0.02).model_dump(),
        "tenants": {"gold": {"weight": 3.0}},
    })
    admission, _ = stage(cfg, lease_cap=2)
    order: list[Request] = []
    await admit_all(admission, [request("bronze") for _ in range(40)] + [request("gold") for _ in range(40)], order)
    assert Counter(r.tenant for r in order[:40]) == {"gold": 30, "bronze": 10}


async def test_high_goes_first_and_low_still_completes_under_sustained_high_load() -> None:
    # leases of 1: about one admission per 10 ms hop; high arrives twice as fast.
    admission, _ = stage(config(rpm=100, lease_fraction=0.001), hop_s=0.01, lease_cap=1)
    order: list[Request] = []
    lows = [request("t", "low") for _ in range(3)]
    highs_first = [request("t", "high") for _ in range(5)]
    started = time.time()
    waiting = asyncio.ensure_future(admit_all(admission, lows + highs_first, order))
    await asyncio.sleep(0.002)  # all eight are in the queue before the first lease comes back
    more_highs: list[asyncio.Future] = []
    while time.time() - started < 1.5:  # two high requests every hop: more than the account admits
        more_highs.append(asyncio.ensure_future(admit_all(admission, [request("t", "high") for _ in range(2)], order)))
        await asyncio.sleep(0.01)
    await waiting
    await asyncio.gather(*more_highs)
    assert order[:5] == highs_first  # waiting together: high first, though low came first
    low_at = [i for i, r in enumerate(order) if r.priority.value == "low"]
    highs_before_last_low = sum(1 for r in order[: low_at[-1]] if r.priority.value == "high")
    print(f"lows admitted at {low_at} of {len(order)}; {highs_before_last_low} high before the last low")
    # no starvation: aging (0.2 s per class) lets the lows in while high keeps arriving...
    assert low_at[-1] < len(order) - 20, low_at
    # ...and high kept flowing meanwhile
    assert highs_before_last_low >= 10


async def test_a_waiter_past_its_deadline_is_refused_and_leaves_the_queue() -> None:
    admission, quota = stage(config(rpm=1, window_s=60, lease_fraction=0.5))  # one request per window
    first = await admission.decide(request("a"), 0, wait_until=float("inf"))
    assert isinstance(first, Ticket)
    late = await admission.decide(request("b", deadline_in=0.4), 0, wait_until=float("inf"))
    assert isinstance(late, Reject) and late.error.code == "deadline_exceeded"
    assert admission.room.waiting("acct") == 0


async def test_out_of_inline_time_a_request_behind_leaves_uncharged_and_the_head_waits_on() -> None:
    admission, _ = stage(config(rpm=1, window_s=60, lease_fraction=0.5))  # one request per window
    assert isinstance(await admission.decide(request("a"), 0, wait_until=float("inf")), Ticket)
    started = CLOCK()
    # deadlines just past the window's end (59 s away): the next window could serve them
    head = asyncio.ensure_future(admission.decide(request("b", deadline_in=59.5), 0, wait_until=started + 0.2))
    await asyncio.sleep(0.01)
    behind = await admission.decide(request("b", deadline_in=60), 0, wait_until=CLOCK() + 0.2)
    # behind: out of inline time and not next in line: it leaves for the deferred topic,
    # not before its own limit (so the gateway re-queues it instead of waiting again)
    assert isinstance(behind, Defer) and behind.by_account and behind.not_before > started + 0.2
    assert 0.15 <= CLOCK() - started < 0.5 and not head.done()
    # the head (next lease's worth) waits on for the quota (the next window), holding its place...
    await asyncio.sleep(0.3)
    assert not head.done() and admission.room.waiting("acct") == 1
    head.cancel()  # ...until the worker stops: it leaves the queue
    await asyncio.gather(head, return_exceptions=True)
    assert admission.room.waiting("acct") == 0


async def test_when_inline_time_runs_out_the_floods_tail_leaves_not_the_quiet_request() -> None:
    admission, _ = stage(config(rpm=2, window_s=60, lease_fraction=0.5))  # two per window, leases of 1
    started = CLOCK()
    flood = [asyncio.ensure_future(admission.decide(request("noisy", deadline_in=60), 0, wait_until=started + 0.3))
             for _ in range(8)]
    await asyncio.sleep(0.05)  # two of them got the window's quota (through the queue)
    quiet = asyncio.ensure_future(admission.decide(request("quiet", deadline_in=59.5), 0, wait_until=CLOCK() + 0.3))
    await asyncio.gather(*flood)
    results = [f.result() for f in flood]
    assert sum(isinstance(r, Ticket) for r in results) == 2 and sum(isinstance(r, Defer) for r in results) == 6
    # the six others' inline time ran out: they left (for the deferred topic), each not
    # before its own limit; the quiet request, ahead of them in the fair order (the flood
    # was served twice already), kept its place though its own limit passed too
    assert all(r.not_before > started + 0.3 for r in results if isinstance(r, Defer))
    assert CLOCK() > started + 0.35 and not quiet.done() and admission.room.waiting("acct") == 1
    quiet.cancel()  # next in line, it would wait on for the next window's quota
    await asyncio.gather(quiet, return_exceptions=True)
    assert admission.room.waiting("acct") == 0
