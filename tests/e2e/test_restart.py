"""A worker killed mid-stream and started again: every request still gets a reply."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tests.conftest import dump_logs
from tests.e2e.pipeline import start_pipeline

pytestmark = pytest.mark.broker

EXTRA = """
[providers.fake.models."slow-first-byte-300"]
context_window = 8192

[routes.slowish]
targets = ["fake:slow-first-byte-300"]
"""


async def test_kill_9_mid_stream_then_restart_loses_nothing(broker, fake_provider, tmp_path) -> None:
    pipeline = start_pipeline(tmp_path, broker.bootstrap, fake_provider, extra=EXTRA)
    try:
        async with pipeline.client() as client:
            # the worker is up once a first reply comes back
            await client.complete([{"role": "user", "content": "warm-up"}], model="default", timeout=60)
            total = 200
            requests = [
                client.build_request([{"role": "user", "content": f"n{i}"}], model="slowish", tenant=f"t{i % 5}",
                                     timeout=120)
                for i in range(total)
            ]
            pending = [asyncio.ensure_future(client.send(r, timeout=120)) for r in requests]
            # let some finish, then kill the worker while the rest are in flight
            while sum(p.done() for p in pending) < 30:
                await asyncio.sleep(0.05)
            [worker] = [c for c in pipeline.stack.children if c.name == "worker-0"]
            os.kill(worker.proc.pid, signal.SIGKILL)
            worker.proc.wait()
            answered_before_restart = sum(p.done() for p in pending)
            started = time.monotonic()
            pipeline.stack.spawn("worker-1", ["worker"])
            replies = await asyncio.gather(*pending)
            recovery_s = time.monotonic() - started
    except BaseException:
        print(dump_logs(tmp_path / "logs"))
        raise
    finally:
        pipeline.stack.stop()

    assert answered_before_restart < total, "the kill came too late to prove anything"
    assert sorted(r.request_id for r in replies) == sorted(r.request_id for r in requests)
    assert all(r.status == "ok" for r in replies), [r.error for r in replies if r.status != "ok"][:3]
    for request, reply in zip(requests, replies, strict=True):
        assert reply.content and request.messages[0].content in reply.content
    print(f"answered before the kill: {answered_before_restart}/{total}; the rest after {recovery_s:.1f}s")
