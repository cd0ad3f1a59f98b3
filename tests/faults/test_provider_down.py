"""The primary provider of a route is down: every request is served by the
fallback, and once the primary's circuit opens no request waits for it.

Three ways down: connection refused (a closed loopback port), hanging (no first
byte before the 2 s timeout), and answering 503 for a while under steady load.
The reply's ``attempts`` counts provider calls, so "no longer tried" is exact.
"""

from __future__ import annotations

import math
import time
import uuid

import pytest

from tests.conftest import dump_logs
from tests.faults.load import RecordingFake, call, percentile, start_fault_pipeline, steady_load, wait_serving
from tokenyard.streams.broker import free_port

pytestmark = pytest.mark.broker

CONSECUTIVE = 3
OPEN_S = 2.0


def extra(closed_port: int) -> str:
    return f"""
[providers.dead]
kind = "openai_compatible"
base_url = "http://127.0.0.1:{closed_port}/v1"
timeouts = {{ connect = 1.0, first_byte = 2.0, total = 5.0 }}

[providers.dead.models.echo]
context_window = 8192

[providers.fake.models."echo@fb-refused"]
context_window = 8192

[providers.fake.models."slow-first-byte-5000@hang"]
context_window = 8192

[providers.fake.models."echo@fb-hang"]
context_window = 8192

[providers.fake.models."fail-503@primary"]
context_window = 8192

[providers.fake.models."echo@fb-503"]
context_window = 8192

[routes.refused]
targets = ["dead:echo", "fake:echo@fb-refused"]

[routes.hanging]
targets = ["fake:slow-first-byte-5000@hang", "fake:echo@fb-hang"]

[routes.unavailable]
targets = ["fake:fail-503@primary", "fake:echo@fb-503"]

[breaker]
consecutive_failures = {CONSECUTIVE}
open_s = {OPEN_S}
"""


async def sequential(client, route: str, tag: str, n: int):  # type: ignore[no-untyped-def]
    return [await call(client, tenant="down", prompt=f"{route} {tag} {i}", model=route, attempt_timeout=30,
                       max_sends=1, cache="skip") for i in range(n)]


async def test_primary_down_fallback_serves_and_the_breaker_stops_the_waiting(broker, tmp_path) -> None:
    tag = uuid.uuid4().hex[:6]
    closed = free_port()  # nothing listens there: connection refused
    async with RecordingFake() as fake:
        pipeline = start_fault_pipeline(tmp_path, broker.bootstrap, fake, extra=extra(closed))
        try:
            async with pipeline.client() as client:
                await wait_serving(pipeline, client)
                refused = await sequential(client, "refused", tag, 8)
                hanging = await sequential(client, "hanging", tag, 6)
                started = time.monotonic()
                storm = await steady_load(5.0, 50, lambda i: call(
                    client, tenant=f"d{i % 3}", prompt=f"503 {tag} {i}", model="unavailable",
                    attempt_timeout=30, max_sends=1, cache="skip"))
                storm_s = time.monotonic() - started
                primary_503_calls = len(fake.calls_of("fail-503@primary"))
                hang_calls = len(fake.calls_of("slow-first-byte-5000@hang"))
        except BaseException:
            print(dump_logs(tmp_path / "logs"))
            raise
        finally:
            pipeline.stack.stop()

    for outcomes, fallback in ((refused, "echo@fb-refused"), (hanging, "echo@fb-hang"), (storm, "echo@fb-503")):
        assert all(o.reply and o.reply.status == "ok" for o in outcomes), [
            (o.reply.error if o.reply else "no reply") for o in outcomes if not (o.reply and o.reply.status == "ok")]
        assert all(o.prompt in o.reply.content for o in outcomes)
        assert len(fake.calls_of(fallback)) == len(outcomes)  # every one served by the fallback, once

    # refused: tried (with a retry in place) until the circuit opens, then not called at all
    attempts = [o.reply.attempts for o in refused]
    assert attempts[0] == 3 and attempts[-4:] == [1, 1, 1, 1], attempts
    # hanging: the first requests wait out the first-byte timeout; after the circuit opens none waits
    hang_latency = [o.latency_s for o in hanging]
    assert hang_latency[0] >= 2.0, hang_latency
    assert [o.reply.attempts for o in hanging][-3:] == [1, 1, 1] and max(hang_latency[-3:]) < 1.0, hang_latency
    # 503 under load: the primary sees the calls that open the circuit and one probe per open period
    allowed = CONSECUTIVE + 1 + math.ceil(storm_s / OPEN_S) + 2
    assert primary_503_calls <= allowed, (primary_503_calls, allowed)
    first_open = next(i for i, o in enumerate(storm) if o.reply.attempts == 1)
    storm_latency_closed = [o.latency_s for o in storm[:first_open]] or [float("nan")]
    storm_latency_open = [o.latency_s for o in storm[first_open:]]
    print(f"\nprimary down: refused: attempts per request {attempts}, latency "
          f"{refused[0].latency_s * 1000:.0f} ms first vs p50 {percentile([o.latency_s for o in refused[-4:]], 0.5) * 1000:.0f} ms "
          f"once open; hanging: latency {', '.join(f'{x:.2f}s' for x in hang_latency)} ({hang_calls} calls to it); "
          f"503 for {storm_s:.1f}s at 5 req/s: {len(storm)} requests all served by the fallback, primary called "
          f"{primary_503_calls} times (allowed {allowed}; 2 per request without a breaker = {2 * len(storm)}), "
          f"latency p50 before the circuit opened {percentile(storm_latency_closed, 0.5) * 1000:.0f} ms, after "
          f"{percentile(storm_latency_open, 0.5) * 1000:.0f} ms")
