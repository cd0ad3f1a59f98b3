"""kill -9 of the usage sink (the only process writing ClickHouse) under load, and a
restart 5 s later: afterwards ClickHouse holds exactly one request row and one
attempt row per request, in the fact table (read FINAL) and in the hourly rollup
(read without FINAL, so a duplicate insert would show there)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import httpx
import pytest

from tests.conftest import dump_logs
from tests.faults.load import RecordingFake, call, start_fault_pipeline, steady_load, wait_serving, window

pytestmark = pytest.mark.broker

RATE, COUNT = 8.0, 96  # 12 s of load
KILL_AT, RESTART_AT = 2.0, 7.0


async def test_sink_killed_under_load_loses_and_duplicates_no_usage_row(broker, tmp_path) -> None:
    tag = uuid.uuid4().hex[:6]
    tenants = [f"sink-{tag}-{i}" for i in range(3)]
    async with RecordingFake() as fake:
        pipeline = start_fault_pipeline(tmp_path, broker.bootstrap, fake)
        try:
            async with pipeline.client() as client:
                await wait_serving(pipeline, client)

                async def kill_and_restart(started: float) -> float:
                    await asyncio.sleep(max(0.0, started + KILL_AT - time.monotonic()))
                    [sink] = [c for c in pipeline.stack.children if c.name == "sink"]
                    os.kill(sink.proc.pid, signal.SIGKILL)
                    await asyncio.to_thread(sink.proc.wait)
                    await asyncio.sleep(max(0.0, started + RESTART_AT - time.monotonic()))
                    pipeline.stack.spawn("sink", ["sink"])
                    return time.monotonic()

                started = time.monotonic()
                restarting = asyncio.ensure_future(kill_and_restart(started))
                outcomes = await steady_load(RATE, COUNT, lambda i: call(
                    client, tenant=tenants[i % 3], prompt=f"sink {tag} {i}", attempt_timeout=30, max_sends=3,
                    cache="skip"))
                restarted_at = await restarting
                # until ClickHouse has every request row (or 60 s)
                expected = {t: sum(1 for o in outcomes if o.tenant == t) for t in tenants}
                spend: dict[str, dict] = {}
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        rows = await pipeline.query("spend_by_tenant", **window())
                    except httpx.HTTPError:  # the restarted sink's query port is not up yet
                        await asyncio.sleep(0.5)
                        continue
                    spend = {r["tenant"]: r for r in rows if r["tenant"] in expected}
                    if all(spend.get(t, {}).get("requests") == n for t, n in expected.items()):
                        break
                    await asyncio.sleep(0.5)
                caught_up_s = time.monotonic() - restarted_at
                await asyncio.sleep(1.5)  # anything still arriving would be a duplicate: let it land
                spend = {r["tenant"]: r for r in await pipeline.query("spend_by_tenant", **window())
                         if r["tenant"] in expected}
                hourly = {t: sum(int(r["attempts"]) for r in await pipeline.query("cost_hourly", tenant=t, **window()))
                          for t in tenants}
                sample = {o.request_id: await pipeline.query("request_usage", request_id=o.request_id)
                          for o in outcomes[::6]}
        except BaseException:
            print(dump_logs(tmp_path / "logs"))
            raise
        finally:
            pipeline.stack.stop()

    assert all(o.reply and o.reply.status == "ok" for o in outcomes)
    for tenant, n in expected.items():
        assert spend[tenant]["requests"] == n and spend[tenant]["attempts"] == n, (tenant, n, spend[tenant])
        assert hourly[tenant] == n, (tenant, n, hourly[tenant])
    for request_id, rows in sample.items():
        kinds = sorted(r["kind"] for r in rows)
        assert kinds == ["attempt", "request"], (request_id, rows)
    print(f"\nsink down: {COUNT} requests at {RATE:g} req/s, sink killed -9 at {KILL_AT:g}s and restarted at "
          f"{RESTART_AT:g}s; all {COUNT} answered; ClickHouse complete {caught_up_s:.1f}s after the restart; "
          f"request rows {sum(r['requests'] for r in spend.values())}, attempt rows "
          f"{sum(r['attempts'] for r in spend.values())} (FINAL), rollup attempts {sum(hourly.values())}; "
          f"{len(sample)} requests traced: one request row and one attempt row each")
