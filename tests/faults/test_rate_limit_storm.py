"""A provider answers 429 with Retry-After: 1 to its next calls while requests keep
coming: the gateway does not call it again inside a Retry-After window (no retry
storm), every request is answered ok in the end (clients resend the same
request_id after a retriable error reply, as the contract says), and service
recovers as soon as the provider does."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import dump_logs
from tests.faults.load import Call, Outcome, RecordingFake, call, percentile, start_fault_pipeline, steady_load, wait_serving

pytestmark = pytest.mark.broker

MODEL = "echo@s429"
STORM_CALLS = 5  # the provider's next 5 calls get 429
RETRY_AFTER_S = 1.0  # what the fake sends with a 429
EXTRA = f"""
[providers.fake.models."{MODEL}"]
context_window = 8192

[routes.stormy]
targets = ["fake:{MODEL}"]
"""
# The storm test isolates the Retry-After behaviour from the breaker; the
# default-breaker test below checks that 429s no longer open the circuit.
IN_FLIGHT_S = 0.25
BREAKER_IGNORES_429 = """
[breaker]
consecutive_failures = 1000
min_calls = 1000
"""


@dataclass
class Storm:
    outcomes: list[Outcome]
    calls: list[Call]
    load_s: float

    @property
    def rejected_at(self) -> list[float]:
        return [c.at for c in self.calls[:STORM_CALLS]]  # scripted: the first calls are the 429s


async def run_storm(bootstrap: str, tmp_path: Path, extra: str, *, max_sends: int) -> Storm:
    tag = uuid.uuid4().hex[:6]
    async with RecordingFake() as fake:
        pipeline = start_fault_pipeline(tmp_path, bootstrap, fake, extra=EXTRA + extra)
        try:
            async with pipeline.client() as client:
                await wait_serving(pipeline, client)
                fake.script(MODEL, ["fail-429"] * STORM_CALLS)
                started = time.monotonic()
                outcomes = await steady_load(6.0, 48, lambda i: call(
                    client, tenant=f"s{i % 3}", prompt=f"storm {tag} {i}", model="stormy", attempt_timeout=30,
                    max_sends=max_sends, retry_on_error_codes=frozenset({"all_targets_failed"}), cache="skip"))
                return Storm(outcomes, fake.calls_of(MODEL), time.monotonic() - started)
        except BaseException:
            print(dump_logs(tmp_path / "logs"))
            raise
        finally:
            pipeline.stack.stop()


@pytest.fixture(scope="module")
def storm_run(broker, tmp_path_factory) -> Storm:
    return asyncio.run(run_storm(broker.bootstrap, tmp_path_factory.mktemp("storm"), BREAKER_IGNORES_429,
                                 max_sends=30))


def test_429_storm_no_retry_storm_no_loss_and_recovery(storm_run: Storm) -> None:
    run = storm_run
    outcomes, calls, rejected_at = run.outcomes, run.calls, run.rejected_at
    # A call that reaches the provider within IN_FLIGHT_S of a 429 was sent before the
    # gateway had read that 429 (clients resend on the hold's end, so several arrive at
    # once); every call later in a Retry-After window would be a retry storm.
    inside_windows = [
        c for c in calls if any(t + IN_FLIGHT_S < c.at < t + RETRY_AFTER_S - 0.05 for t in rejected_at)
    ]

    assert all(o.reply and o.reply.status == "ok" for o in outcomes), [
        (o.sends, o.error_replies[-1:], o.reply and o.reply.error) for o in outcomes
        if not (o.reply and o.reply.status == "ok")][:3]
    assert all(o.prompt in o.reply.content for o in outcomes)
    # nothing paid twice: apart from the 429s, one call per request
    assert len(calls) == len(outcomes) + STORM_CALLS, (len(calls), len(outcomes))
    # no call inside a Retry-After window: the storm spreads over ~STORM_CALLS seconds, one call a second
    assert not inside_windows, [round(c.at - rejected_at[0], 2) for c in inside_windows]
    # (calls already in flight when a 429 lands may be refused in the same window, so the
    # spread of the refusals is not a measure of anything; the windows above are)
    storm_s = rejected_at[-1] - rejected_at[0]
    # recovery: requests published after the provider recovered are answered at their first send
    recovered = rejected_at[-1] + RETRY_AFTER_S
    after = [o for o in outcomes if o.published_at > recovered + 0.5]
    assert after and all(o.sends == 1 for o in after), [o.sends for o in after]
    first_ok_after = min(c.at for c in calls[STORM_CALLS:] if c.at > rejected_at[-1] + 0.05) - rejected_at[-1]
    resends = sum(o.sends - 1 for o in outcomes)
    hinted = sum(1 for o in outcomes for e in o.error_replies if e.get("retry_after_s"))
    print(f"\n429 storm: {len(outcomes)} requests at 6 req/s over {run.load_s:.1f}s; provider answered 429 "
          f"{STORM_CALLS} times over {storm_s:.1f}s; calls inside a Retry-After window: {len(inside_windows)}; "
          f"provider calls {len(calls)} = requests + 429s; client resends after retriable error replies {resends} "
          f"(max per request {max(o.sends for o in outcomes) - 1}; error replies with retry_after_s: {hinted}); "
          f"first ok call {first_ok_after:.2f}s after the last 429; latency p50 "
          f"{percentile([o.latency_s for o in outcomes], 0.5):.2f}s, max {max(o.latency_s for o in outcomes):.2f}s, "
          f"after recovery p50 {percentile([o.latency_s for o in after], 0.5) * 1000:.0f} ms")


def test_error_replies_during_a_retry_after_hold_say_when_to_retry(storm_run: Storm) -> None:
    held = [e for o in storm_run.outcomes for e in o.error_replies]
    assert held, "no request was refused during the storm: nothing to check"
    assert all(e["retry_after_s"] and 0 < e["retry_after_s"] <= RETRY_AFTER_S for e in held), held[:2]


async def test_429_storm_with_default_breaker_recovers_when_the_provider_does(broker, tmp_path) -> None:
    run = await run_storm(broker.bootstrap, tmp_path, "", max_sends=12)
    recovered = run.rejected_at[-1] + RETRY_AFTER_S
    after = [o for o in run.outcomes if o.published_at > recovered + 0.5]
    assert after, "the storm outlasted the load: nothing to check"
    assert all(o.reply and o.reply.status == "ok" and o.sends == 1 for o in after), [
        (o.sends, o.error_replies[-1:]) for o in after][:2]
