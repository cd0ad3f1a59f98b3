"""`tokenyard status --json` against a real pipeline: broker, topics, lag from fetch
high watermarks, the usage sink, the worker's /metrics endpoint and its breakers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.e2e.pipeline import Pipeline, serving_pipeline
from tokenyard.streams.broker import free_port

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def pipeline(broker, fake_provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with serving_pipeline(tmp_path_factory.mktemp("status"), broker.bootstrap, fake_provider) as running:
        yield running


def status(pipeline: Pipeline, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "tokenyard.streams.cli", "--config", str(pipeline.config), "status", "--json", *args],
        capture_output=True, timeout=30, check=False,
    )
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.returncode, orjson.loads(done.stdout)


async def ask(pipeline: Pipeline, count: int) -> None:
    async with pipeline.client() as client:
        replies = await asyncio.gather(*(
            client.complete([{"role": "user", "content": f"status {i}"}], model="default",
                            tenant=f"tenant-{i}", timeout=20)
            for i in range(count)
        ))
    assert all(r.status == "ok" for r in replies)


def test_status_of_a_running_pipeline(pipeline: Pipeline) -> None:
    asyncio.run(ask(pipeline, 6))
    names = pipeline.names
    deadline = time.monotonic() + 20
    while True:  # offsets are committed every 0.5 s; endpoints start with the worker
        code, report = status(pipeline)
        groups = {g["role"]: g for g in report["groups"]}
        workers = [e for e in report["endpoints"] if e["role"] == "worker"]
        settled = code == 0 and groups["worker"]["lag_total"] == 0 and workers and workers[0]["breakers"]
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    assert code == 0, report["checks"]
    assert report["healthy"] is True
    assert report["broker"]["reachable"] is True
    assert report["topics"][names.requests] == pipeline.settings.kafka.request_partitions
    assert {c["name"]: c["status"] for c in report["checks"]}["usage sink"] == "ok"

    worker = groups["worker"]
    assert worker["members"] == 1 and worker["lag_total"] == 0
    requests = [p for p in worker["partitions"] if p["topic"] == names.requests]
    assert len(requests) == pipeline.settings.kafka.request_partitions
    # The high watermarks add up to every request published (what a full read finds).
    published = asyncio.run(pipeline.read_topic(names.requests, until=10_000, timeout=3))
    assert sum(p["highwater"] for p in requests) == len(published) >= 6
    assert all(p["committed"] == p["highwater"] for p in requests if p["highwater"])

    assert {e["role"] for e in report["endpoints"]} == {"worker", "sink"}
    assert all(e["ok"] for e in report["endpoints"])
    assert workers[0]["breakers"] == {"fake:echo": "closed"}


def test_an_unreachable_front_door_degrades_the_stack(pipeline: Pipeline) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, report = status(pipeline, "--frontdoor-url", url)
    assert code == 1 and report["healthy"] is False
    door = next(c for c in report["checks"] if c["name"] == "front door")
    assert door["status"] == "degraded" and url in door["detail"]
