"""A tenant whose reply topic nobody reads (a consumer that stalled or died) sends
a steady stream of requests with large answers: the gateway serves every one of
them into the unread topic, and another tenant's latency stays low meanwhile."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from tests.conftest import dump_logs
from tests.faults.load import RecordingFake, call, percentile, start_fault_pipeline, steady_load, wait_serving
from tokenyard.streams.broker import ensure_topics
from tokenyard.streams.cli.dlq import read_topic_exactly

pytestmark = pytest.mark.broker

SILENT_COUNT, SILENT_RATE = 200, 20.0  # 10 s, ~4 KB answers nobody reads
PROBE_RATE = 4.0


async def test_an_unread_reply_topic_does_not_stall_other_tenants(broker, tmp_path) -> None:
    tag = uuid.uuid4().hex[:6]
    async with RecordingFake() as fake:
        pipeline = start_fault_pipeline(tmp_path, broker.bootstrap, fake)
        silent_topic = f"{pipeline.names.replies}.silent"
        try:
            async with pipeline.client() as client:
                await wait_serving(pipeline, client)
                await ensure_topics(broker.bootstrap, {silent_topic: 2})

                def probe(i: int, phase: str):  # type: ignore[no-untyped-def]
                    return call(client, tenant="attentive", prompt=f"{phase} {tag} {i}", attempt_timeout=30,
                                max_sends=1, cache="skip")

                baseline = await steady_load(PROBE_RATE, 20, lambda i: probe(i, "calm"))

                async def flood() -> None:
                    started = time.monotonic()
                    for i in range(SILENT_COUNT):
                        await asyncio.sleep(max(0.0, started + i / SILENT_RATE - time.monotonic()))
                        request = client.build_request(
                            [{"role": "user", "content": f"silent {tag} {i} " + "x" * 4000}], tenant="silent",
                            timeout=60, cache="skip").model_copy(update={"reply_to": silent_topic})
                        await client.publish(request)

                flooding = asyncio.ensure_future(flood())
                during = await steady_load(PROBE_RATE, 40, lambda i: probe(i, "flooded"))
                await flooding
                # every silent request was served, into the topic nobody reads
                deadline = time.monotonic() + 30
                unread = []
                while time.monotonic() < deadline:
                    unread = await read_topic_exactly(broker.bootstrap, silent_topic)
                    if len(unread) >= SILENT_COUNT:
                        break
                    await asyncio.sleep(0.5)
        except BaseException:
            print(dump_logs(tmp_path / "logs"))
            raise
        finally:
            pipeline.stack.stop()

    assert all(o.reply and o.reply.status == "ok" for o in baseline + during)
    assert len(unread) == SILENT_COUNT, len(unread)
    calm = [o.latency_s for o in baseline]
    flooded = [o.latency_s for o in during]
    # no stall: a stalled pipeline would show seconds, not tens of milliseconds
    assert percentile(flooded, 0.95) <= percentile(calm, 0.95) + 1.0, (calm, flooded)
    print(f"\nunread reply topic: {SILENT_COUNT} requests at {SILENT_RATE:g} req/s answered into a topic nobody "
          f"reads ({sum(len(v or b'') for _, _, v in unread) // 1024} KB); other tenant's latency p50/p95/max "
          f"{percentile(calm, 0.5) * 1000:.0f}/{percentile(calm, 0.95) * 1000:.0f}/{max(calm) * 1000:.0f} ms alone vs "
          f"{percentile(flooded, 0.5) * 1000:.0f}/{percentile(flooded, 0.95) * 1000:.0f}/{max(flooded) * 1000:.0f} ms "
          f"during; {len(during)} of its requests, none lost")
