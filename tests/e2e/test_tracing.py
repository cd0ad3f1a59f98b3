"""A trace started by the client continues in the worker, stage by stage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from tests.e2e.pipeline import serving_pipeline
from tokenyard.streams.client import TokenyardClient
from tokenyard.streams.tracing import Tracing, TracingSettings

pytestmark = pytest.mark.broker


def test_client_and_worker_spans_share_one_trace(broker, fake_provider, tmp_path: Path) -> None:
    spans_file = tmp_path / "spans.jsonl"
    extra = f'\n[tracing]\nenabled = true\nexporter = "file"\nfile = "{spans_file}"\n'
    with serving_pipeline(tmp_path, broker.bootstrap, fake_provider, extra=extra) as pipeline:
        tracing = Tracing.from_settings(pipeline.settings.tracing, role="client")

        async def ask() -> str:
            async with TokenyardClient.from_settings(pipeline.settings, tracing=tracing) as client:
                reply = await client.complete([{"role": "user", "content": "trace me"}], tenant="traced",
                                              timeout=30, cache="skip")
            return reply.request_id

        request_id = asyncio.run(ask())
    spans = [orjson.loads(line) for line in spans_file.read_bytes().splitlines()]
    [root] = [s for s in spans if s["name"] == "tokenyard.request" and s["attributes"].get("request_id") == request_id]
    trace = [s for s in spans if s["trace_id"] == root["trace_id"]]
    names = {s["name"]: s for s in trace}
    assert {"tokenyard.gateway", "tokenyard.lookup", "tokenyard.admission", "tokenyard.invoke"} <= set(names)
    assert names["tokenyard.gateway"]["parent_id"] == root["span_id"]
    assert names["tokenyard.gateway"]["role"] == "worker" and root["role"] == "client"
    assert names["tokenyard.invoke"]["parent_id"] == names["tokenyard.gateway"]["span_id"]
    assert names["tokenyard.invoke"]["attributes"]["tokenyard.outcome"] == "ok"


def test_tracing_is_off_by_default_and_then_costs_nothing() -> None:
    tracing = Tracing.from_settings(TracingSettings(), role="worker")
    assert not tracing.enabled and tracing.headers() == []
    with tracing.span("anything") as span:
        assert span is None
