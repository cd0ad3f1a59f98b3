"""Worker-side metrics: lag, breakers, rebuilds, process stats, the endpoint and its files."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import ValidationError

from tokenyard.providers.breaker import BreakerSnapshot, BreakerState
from tokenyard.streams.broker import free_port
from tokenyard.streams.cli.status import parse_samples
from tokenyard.streams.metrics import Metrics
from tokenyard.streams.endpoints import read_endpoints
from tokenyard.streams.gateway_metrics import GatewayMetrics
from tokenyard.streams.observability import (
    MetricsEndpointSettings,
    MetricsServer,
    ProcessMetrics,
    ProcessStats,
    consumer_lag,
    endpoint_settings,
    read_process_stats,
)


def test_consumer_lag() -> None:
    assert consumer_lag(committed=5, highwater=9) == 4
    assert consumer_lag(committed=None, highwater=3) == 3  # nothing committed: from offset 0
    assert consumer_lag(committed=-1, highwater=3) == 3  # OffsetFetch says -1 for "none"
    assert consumer_lag(committed=9, highwater=None) is None
    assert consumer_lag(committed=12, highwater=9) == 0  # a stale high watermark never goes negative


def snapshot(target: str, state: BreakerState, failures: int = 0) -> BreakerSnapshot:
    return BreakerSnapshot(target, state, 0, 0, failures, None, None)


def test_process_metrics_render_breakers_rebuilds_and_lag() -> None:
    metrics = Metrics()
    observed = ProcessMetrics(metrics, "worker")
    observed.observe_breakers({"a:m": snapshot("a:m", BreakerState.open, 5), "b:m": snapshot("b:m", BreakerState.half_open)})
    observed.observe_rebuilds("ty.cache", {0: 120, 3: 0}, {3: 2})
    observed.observe_lag("g", {("ty.requests", 1): 4, ("ty.requests", 2): None})
    observed.observe_process(ProcessStats(rss_bytes=1024, cpu_seconds=1.5, open_fds=None))
    text = metrics.render()
    assert parse_samples(text, "tokenyard_breaker_state") == [({"target": "a:m"}, 2.0), ({"target": "b:m"}, 1.0)]
    assert ({"target": "a:m"}, 5.0) in parse_samples(text, "tokenyard_breaker_consecutive_failures")
    assert parse_samples(text, "tokenyard_state_rebuilt_records") == [
        ({"topic": "ty.cache", "partition": "0"}, 120.0), ({"topic": "ty.cache", "partition": "3"}, 0.0),
    ]
    assert parse_samples(text, "tokenyard_state_skipped_records") == [({"topic": "ty.cache", "partition": "3"}, 2.0)]
    assert parse_samples(text, "tokenyard_consumer_lag") == [({"group": "g", "topic": "ty.requests", "partition": "1"}, 4.0)]
    assert parse_samples(text, "process_resident_memory_bytes") == [({}, 1024.0)]
    assert parse_samples(text, "tokenyard_up") == [({"role": "worker"}, 1.0)]
    # A revoked partition disappears from the lag gauge.
    observed.observe_lag("g", {("ty.requests", 2): 0})
    assert parse_samples(metrics.render(), "tokenyard_consumer_lag") == [
        ({"group": "g", "topic": "ty.requests", "partition": "2"}, 0.0)
    ]


def test_read_process_stats_from_procfs(tmp_path: Path) -> None:
    (tmp_path / "statm").write_text("1000 250 30 1 0 100 0\n")
    (tmp_path / "fd").mkdir()
    for name in ("0", "1", "2"):
        (tmp_path / "fd" / name).write_text("")
    stats = read_process_stats(tmp_path, page_size=4096)
    assert stats.rss_bytes == 250 * 4096 and stats.open_fds == 3 and stats.cpu_seconds >= 0
    missing = read_process_stats(tmp_path / "nope")
    assert missing.rss_bytes is None and missing.open_fds is None


def test_gateway_metrics_bound_their_labels() -> None:
    metrics = Metrics()
    gateway = GatewayMetrics(metrics, routes=["default"], targets=["openai:gpt-4o"])
    gateway.finished("invoke", "default", None, 0.2)
    gateway.finished("intake", "caller-made-this-up", "unknown_model", 0.001)
    gateway.finished("invoke", "default", "not-a-code", 0.1)
    gateway.provider_call("openai:gpt-4o", "provider_timeout", 3.0)
    gateway.billed("default", "openai:gpt-4o", 10, 5, 0.25)
    text = metrics.render()
    assert {tuple(sorted(l.items())) for l, _ in parse_samples(text, "tokenyard_requests_total")} == {
        (("outcome", "ok"), ("route", "default"), ("stage", "invoke")),
        (("outcome", "unknown_model"), ("route", "unknown"), ("stage", "intake")),
        (("outcome", "other"), ("route", "default"), ("stage", "invoke")),
    }
    assert ({"route": "default", "target": "openai:gpt-4o", "kind": "output"}, 5.0) in parse_samples(text, "tokenyard_tokens_total")
    assert parse_samples(text, "tokenyard_cost_usd_total") == [({"route": "default", "target": "openai:gpt-4o"}, 0.25)]


def test_settings_refuse_bad_keys_and_default_until_settings_has_the_field() -> None:
    with pytest.raises(ValidationError, match="prot"):
        MetricsEndpointSettings.model_validate({"prot": 1})
    with pytest.raises(ValidationError, match="port"):
        MetricsEndpointSettings(port=0)
    assert endpoint_settings(object()) == MetricsEndpointSettings()


async def test_servers_on_one_host_take_successive_ports_then_any() -> None:
    metrics = Metrics()
    metrics.counter("seen_total", "x").inc()
    first = free_port()
    base = MetricsEndpointSettings(port=first, port_span=2)
    servers = [MetricsServer(metrics, base) for _ in range(3)]
    try:
        ports = [await s.start() for s in servers]
        assert ports[:2] == [first, first + 1]
        assert ports[2] not in (first, first + 1)
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{servers[2].url}/metrics")
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert parse_samples(response.text, "seen_total") == [({}, 1.0)]
    finally:
        for server in servers:
            await server.stop()


def test_endpoint_files_of_dead_processes_and_garbage_are_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "endpoints"
    folder.mkdir()
    (folder / "worker-1.json").write_bytes(orjson.dumps({"role": "worker", "pid": 1, "url": "http://a"}))
    (folder / "worker-2.json").write_bytes(orjson.dumps({"role": "worker", "pid": 2, "url": "http://b"}))
    (folder / "sink-3.json").write_text("{not json")
    found = read_endpoints(tmp_path, alive=lambda pid: pid == 2)
    assert [(e.role, e.pid, e.url) for e in found] == [("worker", 2, "http://b")]
    assert read_endpoints(tmp_path / "missing", alive=lambda pid: True) == []
