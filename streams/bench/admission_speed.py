"""How fast is the admission decision? Single-threaded, pure core, no broker.

Run: ``tokenyard bench admission [--decisions N]``

Scenarios (simulated clock, 1,000 tenants, one shared provider account):

* ``admit``: every check enabled on the path (deadline, daily + monthly
  budgets, tenant RPM/TPM, a route TPM override, an account quota held via a
  lease); limits are high, so almost every decision admits and takes.
* ``defer``: the same tenants, limits too low, so almost every decision defers.
* ``admit+settle``: ``admit`` plus the post-call correction with real usage.
* ``scheduler``: push then pop (fair queue, 3 classes) per request, 200 tenants.

The numbers are the Python cost of the decision only; the Faust hop around it
(~0.2-0.3 ms CPU per message here, see ENVIRONMENT.md) is not included.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from tokenyard.admission.accounts import AccountState, LeaseLedger
from tokenyard.admission.config import AdmissionConfig
from tokenyard.admission.decide import (
    Admit,
    AdmissionState,
    RequestFacts,
    decide,
    lease_request_for,
    record_spend,
    settle,
)
from tokenyard.admission.limits import TenantState
from tokenyard.admission.scheduler import FairScheduler

TENANTS = 1000
START = 1_700_000_000.0


def _config(per_tenant_rpm: int) -> AdmissionConfig:
    tenant = {
        "rpm": per_tenant_rpm,
        "tpm": per_tenant_rpm * 2000,
        "routes": {"chat": {"tpm": per_tenant_rpm * 1500}},
        "daily": {"soft_usd": "100", "hard_usd": "200"},
        "monthly": {"hard_usd": "5000"},
    }
    return AdmissionConfig.parse(
        {"default_tenant": tenant, "accounts": {"acct": {"rpm": 10**9, "tpm": 10**12, "lease_fraction": 0.01}}}
    )


def _facts(n: int) -> RequestFacts:
    priority = ("high", "normal", "normal", "low")[n % 4]
    return RequestFacts(f"r{n}", f"tenant{n % TENANTS}", "chat", "acct", 700 + n % 500, priority, START + 3600)


def _run(config: AdmissionConfig, decisions: int, with_settle: bool) -> tuple[float, dict[str, int]]:
    tenants: dict[str, TenantState] = {}
    for i in range(TENANTS):  # every tenant has some spend on record: the budget check does real work
        tenants[f"tenant{i}"], _ = record_spend(TenantState(), f"seed{i}", 0, Decimal("1.25"), START)
    account = AccountState.fresh("acct")
    ledger = LeaseLedger.for_account("acct", config.account("acct"))
    facts = [_facts(n) for n in range(decisions)]
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for n, f in enumerate(facts):
        now = START + n * 0.0005
        state, outcome = decide(AdmissionState(tenants[f.tenant], account), f, now, config)
        if with_settle and isinstance(outcome, Admit):
            state = settle(state, f, outcome, f.estimated_tokens // 2, now, config)
        state, lease_ask = lease_request_for(state, f, now, config, "w1")
        if lease_ask is not None:  # the owner answers in-process here; on Kafka it is one hop
            ledger, answer = ledger.grant("w1", lease_ask.requests, lease_ask.tokens, now)
            state = AdmissionState(state.tenant, AccountState(state.account.quota.apply(answer, now), state.account.rate))
        tenants[f.tenant] = state.tenant
        account = state.account
        name = type(outcome).__name__
        outcomes[name] = outcomes.get(name, 0) + 1
    return time.perf_counter() - started, outcomes


def _scheduler(items: int) -> float:
    scheduler: FairScheduler[RequestFacts] = FairScheduler(aging_s=30)
    facts = [RequestFacts(f"r{n}", f"tenant{n % 200}", "chat", "acct", 700, ("high", "normal", "low")[n % 3]) for n in range(items)]
    started = time.perf_counter()
    for n, f in enumerate(facts):
        scheduler.push(f, START + n * 0.001)
        if n % 2:  # keep a backlog: pop one for every two pushed
            scheduler.pop_ready(START + n * 0.001, lambda _: True, max_items=1)
    return time.perf_counter() - started


def _best_of(repeats: int, run: Callable[[], float]) -> list[float]:
    return [run() for _ in range(repeats)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"python {platform.python_version()} on {platform.machine()}, {args.decisions} decisions x {args.repeats} runs")
    scenarios = {
        "admit": (_config(per_tenant_rpm=10_000), False),
        "defer": (_config(per_tenant_rpm=1), False),
        "admit+settle": (_config(per_tenant_rpm=10_000), True),
    }
    for name, (config, with_settle) in scenarios.items():
        outcomes: dict[str, int] = {}
        times = []
        for _ in range(args.repeats):
            elapsed, outcomes = _run(config, args.decisions, with_settle)
            times.append(elapsed)
        best, median = min(times), statistics.median(times)
        print(
            f"{name:>13}: {args.decisions / best:>9,.0f} decisions/s  "
            f"{best / args.decisions * 1e6:6.1f} us/decision (median run {median / args.decisions * 1e6:.1f} us)  "
            f"outcomes {outcomes}"
        )
    times = _best_of(args.repeats, lambda: _scheduler(args.decisions))
    best = min(times)
    print(f"{'scheduler':>13}: {args.decisions / best:>9,.0f} push(+pop/2)/s  {best / args.decisions * 1e6:6.1f} us/request")


if __name__ == "__main__":
    main()
