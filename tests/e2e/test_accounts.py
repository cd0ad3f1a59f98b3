"""Provider-account limits on a real pipeline: quota leases exact across two workers,
and the adaptive rate after provider 429s with Retry-After."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter

import pytest

from tests.conftest import dump_logs
from tests.e2e.pipeline import Pipeline, start_pipeline

pytestmark = pytest.mark.broker

# acct: 20 requests per 10 s window (rpm 120), leases of 5.
# storm: 50 per 5 s window (rpm 600), leases of 5; a cut keeps 30% of it.
ACCT_WINDOW_S, ACCT_PER_WINDOW = 10.0, 20
STORM_WINDOW_S, STORM_PER_WINDOW = 5.0, 50
# spill: 10 per 10 s window (rpm 60), leases of 5, reached only by falling back from fake:fail-500.
SPILL_WINDOW_S, SPILL_PER_WINDOW = 10.0, 10
# fair: 20 per 2 s window (rpm 600), leases of 5: a flood of 60 needs three windows.
FAIR_WINDOW_S, FAIR_PER_WINDOW = 2.0, 20


def limits(fake_url: str) -> str:
    return f"""
[worker]
inline_defer_s = 1.0

[providers.acct]
kind = "openai_compatible"
base_url = "{fake_url}/v1"

[providers.acct.models."echo@acct"]
context_window = 8192

[providers.storm]
kind = "openai_compatible"
base_url = "{fake_url}/v1"

[providers.storm.models."echo@storm"]
context_window = 8192

[routes.shared]
targets = ["acct:echo@acct"]

[routes.storm]
targets = ["storm:echo@storm"]
retry = {{ max_attempts_per_target = 1 }}

[providers.fair]
kind = "openai_compatible"
base_url = "{fake_url}/v1"

[providers.fair.models."echo@fair"]
context_window = 8192

[routes.fair]
targets = ["fair:echo@fair"]

[providers.spill]
kind = "openai_compatible"
base_url = "{fake_url}/v1"

[providers.spill.models."echo@spill"]
context_window = 8192

[routes.spill]
targets = ["fake:fail-500", "spill:echo@spill"]
retry = {{ max_attempts_per_target = 1 }}

[admission.aimd]
decrease_factor = 0.3
increase_per_s = 0.01

[admission.accounts.acct]
rpm = 120
window_s = {ACCT_WINDOW_S}
lease_fraction = 0.25

[admission.accounts.spill]
rpm = 60
window_s = {SPILL_WINDOW_S}
lease_fraction = 0.5

[admission.accounts.fair]
rpm = 600
window_s = {FAIR_WINDOW_S}
lease_fraction = 0.25

[admission.accounts.storm]
rpm = 600
window_s = {STORM_WINDOW_S}
lease_fraction = 0.1
"""


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def _wait_ready(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        await client.complete(user("ready?"), tenant="probe", timeout=90)


@pytest.fixture(scope="module")
def two_workers(broker, fake_provider, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("accounts")
    pipeline = start_pipeline(tmp, broker.bootstrap, fake_provider, workers=2, extra=limits(fake_provider.base_url))
    try:
        asyncio.run(_wait_ready(pipeline))
    except BaseException:
        print(dump_logs(tmp / "logs"))
        pipeline.stack.stop()
        raise
    yield pipeline
    pipeline.stack.stop()


class CallSampler:
    """Samples the fake provider's call count of one model every few ms."""

    def __init__(self, fake, model: str) -> None:
        self.fake, self.model = fake, model
        self.samples: list[tuple[float, int]] = []

    async def run(self) -> None:
        while True:
            self.samples.append((time.time(), self.fake.calls(self.model)))
            await asyncio.sleep(0.01)

    def at(self, when: float) -> int:
        """Calls counted by the last sample at or before ``when``."""
        count = self.samples[0][1]
        for t, calls in self.samples:
            if t > when:
                break
            count = calls
        return count

    def between(self, start: float, end: float) -> int:
        return self.at(end) - self.at(start)

    def per_window(self, window_s: float) -> dict[int, int]:
        first, last = self.samples[0][0], self.samples[-1][0]
        windows = range(math.floor(first / window_s), math.floor(last / window_s) + 1)
        return {w: self.between(w * window_s, (w + 1) * window_s) for w in windows}


def codes(replies) -> Counter[str]:
    return Counter(r.status if r.status == "ok" else r.error.code for r in replies)


async def test_account_limit_holds_across_two_workers(two_workers: Pipeline) -> None:
    fake = two_workers.fake
    sampler = CallSampler(fake, "echo@acct")
    sampling = asyncio.create_task(sampler.run())
    started = time.time()
    try:
        async with two_workers.client() as client:
            # 16 tenants land on all four partitions, so both workers admit for the account.
            batch = [
                client.build_request(user(f"shared {i}"), model="shared", tenant=f"tenant{i % 16}", timeout=22)
                for i in range(70)
            ]
            replies = await asyncio.gather(*(client.send(r, timeout=40) for r in batch))
    finally:
        await asyncio.sleep(0.1)
        sampling.cancel()
    windows = sampler.per_window(ACCT_WINDOW_S)
    statuses = codes(replies)
    print(f"calls per {ACCT_WINDOW_S:g}s window: {windows}; replies {dict(statuses)}; "
          f"took {time.time() - started:.1f}s")
    # the bound: never more than the account's quota in any window, whichever worker serves
    assert max(windows.values()) <= ACCT_PER_WINDOW, windows
    # every request answered: served, or refused because its deadline came first
    assert set(statuses) <= {"ok", "deadline_exceeded"}, statuses
    assert statuses["ok"] == fake.calls("echo@acct")
    # the quota is used, not starved: at least one full window's worth got through
    assert statuses["ok"] >= ACCT_PER_WINDOW, statuses


async def test_provider_429s_cut_and_pause_the_account(two_workers: Pipeline) -> None:
    fake = two_workers.fake
    sampler = CallSampler(fake, "echo@storm")
    sampling = asyncio.create_task(sampler.run())
    sends: list[asyncio.Task] = []
    scripted_at = 0.0
    try:
        async with two_workers.client() as client:
            for i in range(int(10 * 12)):  # 12 requests per second for 10 s, from 12 tenants
                if i == 12 * 4:
                    scripted_at = time.time()
                    fake.script("echo@storm", ["fail-429"] * 4)  # each answers Retry-After: 1
                request = client.build_request(user(f"storm {i}"), model="storm", tenant=f"st{i % 12}", timeout=8)
                sends.append(asyncio.create_task(client.send(request, timeout=30)))
                await asyncio.sleep(1 / 12)
            replies = await asyncio.gather(*sends)
    finally:
        sampling.cancel()
    first_429 = next(t for t, calls in sampler.samples if t >= scripted_at and calls > sampler.at(scripted_at))
    before = sampler.between(first_429 - 3.0, first_429) / 3.0
    during_pause = sampler.between(first_429 + 0.3, first_429 + 0.95)
    after = sampler.between(first_429 + 1.0, first_429 + 5.0) / 4.0
    statuses = codes(replies)
    # The first whole window after the cut: the owner grants at most 50 x factor in it,
    # factor 0.3 recovering 0.01/s (< 0.4 by that window's end). Leases held before the
    # cut die with their window, so they cannot spill into it.
    next_window = math.floor(first_429 / STORM_WINDOW_S) + 1
    whole_window = sampler.between(next_window * STORM_WINDOW_S, (next_window + 1) * STORM_WINDOW_S)
    print(f"calls/s before {before:.1f}, during the Retry-After pause {during_pause}, after {after:.1f}; "
          f"calls in the first whole window after the cut {whole_window} (of {STORM_PER_WINDOW}); "
          f"replies {dict(statuses)}")
    assert len(replies) == len(sends)  # every request got a reply (none timed out)
    assert during_pause <= 1, sampler.samples
    assert sampler.samples[-1][0] >= (next_window + 1) * STORM_WINDOW_S  # that window was watched whole
    assert whole_window <= 0.4 * STORM_PER_WINDOW, sampler.per_window(STORM_WINDOW_S)
    # No "after < before": the 1-5 s interval after the first 429 still holds the rest of
    # the window the cut fell in, whose leases (granted before the cut) are spent by design;
    # CI saw 5.25 vs 5.0 calls/s. The cut is checked on the first whole window above.
    # the 4 scripted 429s failed their requests (one attempt per target on this route), and
    # nothing was retried into the refusing provider: calls = served + those 4. A request
    # may also fail unsent when this worker's circuit breaker (provider layer) is open.
    failures = Counter(
        "429" if "HTTP 429" in r.error.message else "breaker" if "circuit open" in r.error.message else r.error.message
        for r in replies if r.error is not None and r.error.code == "all_targets_failed"
    )
    assert set(statuses) <= {"ok", "deadline_exceeded", "all_targets_failed"}, statuses
    assert failures["429"] == 4 and set(failures) <= {"429", "breaker"}, failures
    assert fake.calls("echo@storm") == statuses["ok"] + 4


def same_partition_as(tenant: str, candidates: list[str], partitions: int) -> str:
    """A tenant whose requests share ``tenant``'s partition (the client's key partitioner)."""
    from aiokafka.partitioner import DefaultPartitioner

    choose = DefaultPartitioner()
    ids = list(range(partitions))
    target = choose(tenant.encode(), ids, ids)
    return next(c for c in candidates if choose(c.encode(), ids, ids) == target)


async def _timed(client, request, finished: list) -> object:
    reply = await client.send(request, timeout=60)
    finished.append((time.time(), request))
    return reply


async def test_a_noisy_tenant_does_not_take_a_shared_account_from_a_quiet_one(two_workers: Pipeline) -> None:
    partitions = two_workers.settings.kafka.request_partitions
    # the hardest case: one partition, so one worker, one agent, the flood ahead in the log
    quiet = same_partition_as("noisy", [f"quiet{i}" for i in range(50)], partitions)
    finished: list[tuple[float, object]] = []
    async with two_workers.client() as client:
        flood = [client.build_request(user(f"flood {i}"), model="fair", tenant="noisy", timeout=40) for i in range(60)]
        # Account windows are aligned to the clock (floor(now / window_s)): start just after a
        # window opens, so the flood and the quiet tenant both ask within that first window.
        # Started late in a window, the next one opened before the quiet tenant asked, the
        # flood took two windows' quota first, and the quiet tenant's turn came a window later
        # (~1 run in 6 before this wait).
        await asyncio.sleep(FAIR_WINDOW_S - time.time() % FAIR_WINDOW_S + 0.1)
        flooding = [asyncio.create_task(_timed(client, r, finished)) for r in flood]
        await asyncio.sleep(0.3)  # the flood is in the log first
        calm = [client.build_request(user(f"calm {i}"), model="fair", tenant=quiet, timeout=40) for i in range(4)]
        replies = await asyncio.gather(*flooding, *(_timed(client, r, finished) for r in calm))
    statuses = codes(replies)
    order = [r.tenant for _, r in sorted(finished, key=lambda f: f[0])]
    quiet_at = [i for i, tenant in enumerate(order) if tenant == quiet]
    noisy_before_last_quiet = quiet_at[-1] - (len(quiet_at) - 1)
    print(f"quiet replies at positions {quiet_at} of {len(order)}; noisy served before the last quiet: "
          f"{noisy_before_last_quiet}; replies {dict(statuses)}")
    assert statuses == {"ok": 64}, statuses  # no loss, nothing refused
    # The first window's quota was gone before the quiet tenant asked (the flood came first);
    # from the next window on it gets its fair half while it waits, so it is done early in
    # that window, not behind the flood's remaining 40 (arrival order would put it at ~50).
    assert noisy_before_last_quiet <= FAIR_PER_WINDOW + 12, quiet_at


async def test_fallback_calls_are_charged_to_the_account_they_hit(two_workers: Pipeline) -> None:
    fake = two_workers.fake
    sampler = CallSampler(fake, "echo@spill")
    sampling = asyncio.create_task(sampler.run())
    try:
        async with two_workers.client() as client:
            # the first target is unlimited and fails; every answer comes from the spill account
            batch = [client.build_request(user(f"spill {i}"), model="spill", tenant=f"sp{i % 8}", timeout=15)
                     for i in range(30)]
            replies = await asyncio.gather(*(client.send(r, timeout=40) for r in batch))
    finally:
        await asyncio.sleep(0.1)
        sampling.cancel()
    windows = sampler.per_window(SPILL_WINDOW_S)
    statuses = codes(replies)
    skipped = [r for r in replies if r.error is not None and "provider account 'spill' has no quota left" in r.error.message]
    print(f"spill calls per {SPILL_WINDOW_S:g}s window: {windows}; replies {dict(statuses)}; "
          f"{len(skipped)} refused for the spill account's quota")
    # the fallback target's account limit holds across both workers, whichever admitted the request
    assert max(windows.values()) <= SPILL_PER_WINDOW, windows
    assert statuses["ok"] == fake.calls("echo@spill") >= SPILL_PER_WINDOW // 2, statuses
    # everything else was answered: refused unsent as rate limited (retriable, with when)
    assert statuses["ok"] + len(skipped) == len(replies), statuses
    for reply in skipped:  # the skip says the target may be back, and when
        [refusal] = [f for f in reply.error.details["failures"] if f["target"] == "spill:echo@spill"]
        assert refusal["code"] == "target_skipped" and refusal["retriable"], refusal
        assert 0 < refusal["retry_after_s"] <= SPILL_WINDOW_S, refusal
