"""Hostile events against a real pipeline: ~300 fuzzed events interleaved with 100
well-formed requests. Every well-formed request is answered, every fuzzed event is
exactly one dead letter (counted by reading the dead-letter topic to its high
watermark), and the worker never dies.

Well-formed requests are offered at a steady rate (PACE_RPS, well below what one
worker serves) in both phases, so what the fuzz costs them shows as achieved rate
and latency, not as a share of a saturated CPU; the numbers are printed for both
phases of the same run, with no timed assertion (a shared 2-core machine)."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings

from tests.conftest import dump_logs
from tests.e2e.pipeline import Pipeline, start_pipeline
from tests.faults.fuzz_events import FuzzEvent, Target, invalid_events
from tests.faults.load import percentile, steady_load
from tokenyard.streams.cli.dlq import read_topic_exactly

pytestmark = pytest.mark.broker

FUZZED = 300
WELL_FORMED = 100
PACE_RPS = 40.0
TENANTS = [f"fz{i}" for i in range(4)]


def fuzzed_events(target: Target, count: int) -> list[FuzzEvent]:
    """``count`` events, the same every run (derandomized), every class represented."""
    events: list[FuzzEvent] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(event=invalid_events(target))
    def collect(event: FuzzEvent) -> None:
        if len(events) < count:
            events.append(event)

    collect()
    return events


async def dead_letter_count(pipeline: Pipeline) -> int:
    return len(await read_topic_exactly(pipeline.settings.kafka.bootstrap, pipeline.names.dead_letters))


async def timed_send(client, request) -> tuple:  # type: ignore[no-untyped-def]
    sent = time.monotonic()
    reply = await client.send(request, timeout=60)
    return reply, time.monotonic() - sent


async def serve_paced(client, requests, before_each=None) -> tuple[list, list[float], float]:  # type: ignore[no-untyped-def]
    """Offer ``requests`` at PACE_RPS; replies, latencies, and the seconds until the last reply."""
    started = time.monotonic()

    async def one(i: int) -> tuple:
        if before_each is not None:
            await before_each(i)
        return await timed_send(client, requests[i])

    done = await steady_load(PACE_RPS, len(requests), one)
    return [reply for reply, _ in done], [latency for _, latency in done], time.monotonic() - started


def well_formed(client, label: str) -> list:  # type: ignore[no-untyped-def]
    return [
        client.build_request([{"role": "user", "content": f"{label} question {i}: what is {i} + {i}?"}],
                             tenant=TENANTS[i % len(TENANTS)], timeout=60, cache="skip")
        for i in range(WELL_FORMED)
    ]


async def test_fuzz_storm_loses_nothing_and_stalls_nothing(broker, fake_provider, tmp_path) -> None:
    pipeline = start_pipeline(tmp_path, broker.bootstrap, fake_provider)
    try:
        names = pipeline.names
        target = Target(reply_to=names.replies, internal_topics=tuple(sorted(names.internal())),
                        max_prompt_chars=pipeline.settings.worker.max_prompt_chars)
        events = fuzzed_events(target, FUZZED)
        assert len(events) == FUZZED
        async with pipeline.client() as client:
            warm = await client.complete([{"role": "user", "content": "warm-up"}], tenant="probe", timeout=60)
            assert warm.status == "ok"
            [worker] = [c for c in pipeline.stack.children if c.name == "worker-0"]
            worker_pid = worker.proc.pid
            letters_before = await dead_letter_count(pipeline)

            # 1. well-formed alone
            calm_replies, calm_latency, calm_s = await serve_paced(client, well_formed(client, "calm"))

            # 2. the same load with the fuzz interleaved on the same partitions
            producer = AIOKafkaProducer(bootstrap_servers=pipeline.settings.kafka.bootstrap, linger_ms=2)
            await producer.start()
            per_request = FUZZED // WELL_FORMED

            async def fuzz_before(i: int) -> None:
                for event in events[i * per_request:(i + 1) * per_request]:
                    await producer.send(names.requests, event.raw, key=TENANTS[i % len(TENANTS)].encode())

            try:
                storm_replies, storm_latency, storm_s = await serve_paced(
                    client, well_formed(client, "storm"), before_each=fuzz_before)
                await producer.flush()
            finally:
                await producer.stop()

            # every fuzzed event is one dead letter: wait for them, then check none more come
            expected = letters_before + FUZZED
            deadline = time.monotonic() + 30
            letters = await dead_letter_count(pipeline)
            while letters < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
                letters = await dead_letter_count(pipeline)
            after = await client.complete([{"role": "user", "content": "still there?"}], tenant="probe", timeout=60)
            letters_final = await dead_letter_count(pipeline)
    except BaseException:
        print(dump_logs(tmp_path / "logs"))
        raise
    finally:
        pipeline.stack.stop()

    assert all(r.status == "ok" for r in calm_replies + storm_replies), [
        (r.request_id, r.error) for r in calm_replies + storm_replies if r.status != "ok"][:3]
    assert after.status == "ok"
    assert letters_final - letters_before == FUZZED, (letters_final, letters_before)
    # the worker that started is the one that finished: no crash, no restart
    assert worker.proc.pid == worker_pid and worker.proc.returncode is not None  # stopped by us, just now
    log = (tmp_path / "logs" / "worker-0.log").read_text()
    assert "crashed" not in log.lower() and "Traceback" not in log, log[-3000:]
    kinds = sorted({e.kind.split(":")[0] for e in events})
    print(f"\nfuzz e2e: {FUZZED} fuzzed events ({len(kinds)} classes: {', '.join(kinds)}), "
          f"{WELL_FORMED} well-formed per phase")
    for phase, latency, seconds in (("alone", calm_latency, calm_s), (f"with {FUZZED} fuzzed", storm_latency, storm_s)):
        print(f"well-formed at {PACE_RPS:g} req/s offered, {phase}: {WELL_FORMED / seconds:.1f} req/s achieved, "
              f"latency p50 {percentile(latency, 0.5) * 1000:.0f} ms, p99 {percentile(latency, 0.99) * 1000:.0f} ms")
