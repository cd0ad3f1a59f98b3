"""The ``/metrics`` endpoint of workers and the usage sink, and what it shows.

Every worker process and the usage sink serve Prometheus text on
``metrics.host:port`` (a tiny aiohttp server beside the Faust app, started by
:func:`attach`). Several workers on one host must not collide, so each takes the
first free port of ``port .. port + port_span - 1`` (then any free port), and
writes where it listens to ``<worker.data_dir>/endpoints/<role>-<pid>.json``;
``tokenyard status`` reads those files. In containers every process has its own
network namespace, so the base port is what Prometheus scrapes.

What is observed here without touching the agents:
- consumer lag per topic/partition of the partitions this process owns:
  the committed offset (OffsetFetch) against the high watermark that the Faust
  consumer's own fetch responses carry. Never ``ListOffsets(latest)``: tansu
  answers it with the start of the last batch + 1 (ENVIRONMENT.md);
- breaker state per target (``router.breakers()``);
- records replayed by each state partition's last rebuild (``PartitionState``);
- process RSS, CPU seconds, open file descriptors.

Request metrics of the gateway stages are declared by
:class:`~tokenyard.streams.gateway_metrics.GatewayMetrics` on the same registry for
the gateway to record; where each process listens is in
:mod:`tokenyard.streams.endpoints`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError
from pydantic import BaseModel, ConfigDict, Field

from tokenyard.providers.breaker import BreakerSnapshot, BreakerState
from tokenyard.streams.endpoints import endpoint_file
from tokenyard.streams.kafka_security import PLAINTEXT, KafkaSecurity
from tokenyard.streams.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

# Prometheus' convention: 0 closed (healthy), 1 half-open (probing), 2 open.
BREAKER_VALUES: dict[BreakerState, int] = {
    BreakerState.closed: 0, BreakerState.half_open: 1, BreakerState.open: 2,
}


class MetricsEndpointSettings(BaseModel):
    """``[metrics]``: where a worker or the usage sink serves ``/metrics``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    # Loopback by default: the endpoint has no auth. Containers set 0.0.0.0.
    host: str = "127.0.0.1"
    port: int = Field(default=9464, ge=1, le=65535)
    # Workers on one host take the first free port of port .. port + span - 1.
    port_span: int = Field(default=16, ge=1, le=1024)
    # How often consumer lag is read (one OffsetFetch per interval).
    lag_interval_s: float = Field(default=5.0, gt=0, le=3600)


# -- pure pieces -------------------------------------------------------------------


def consumer_lag(committed: int | None, highwater: int | None) -> int | None:
    """Records not yet committed; None while the high watermark is unknown.

    A partition without a committed offset counts from offset 0 (Faust's
    ``auto_offset_reset`` is earliest), which overstates lag after retention
    deleted old records; the gauge says "at most".
    """
    if highwater is None:
        return None
    return max(0, highwater - max(committed or 0, 0))


@dataclass(frozen=True)
class ProcessStats:
    rss_bytes: int | None
    cpu_seconds: float
    open_fds: int | None


def read_process_stats(proc_self: Path = Path("/proc/self"), page_size: int | None = None) -> ProcessStats:
    """RSS and open fds from procfs (None where there is none), CPU from ``os.times``."""
    times = os.times()
    try:
        resident_pages = int((proc_self / "statm").read_text().split()[1])
        rss: int | None = resident_pages * (page_size or os.sysconf("SC_PAGE_SIZE"))
    except (OSError, IndexError, ValueError):
        rss = None
    try:
        fds: int | None = len(os.listdir(proc_self / "fd"))
    except OSError:
        fds = None
    return ProcessStats(rss, times.user + times.system, fds)


# -- what every process shows --------------------------------------------------------


class ProcessMetrics:
    """Lag, breakers, rebuilds and process stats on one registry."""

    def __init__(self, metrics: Metrics, role: str) -> None:
        self.registry = metrics
        metrics.gauge("tokenyard_up", "1 while this tokenyard process serves metrics.", ["role"]).set(1, role=role)
        self.lag = metrics.gauge(
            "tokenyard_consumer_lag",
            "Records on a partition this process owns not yet committed by its group "
            "(high watermark from fetch responses minus the committed offset).",
            ["group", "topic", "partition"],
        )
        self.breaker = metrics.gauge(
            "tokenyard_breaker_state", "Circuit breaker per provider target: 0 closed, 1 half-open, 2 open.",
            ["target"],
        )
        self.breaker_failures = metrics.gauge(
            "tokenyard_breaker_consecutive_failures", "Consecutive failures of a provider target.", ["target"]
        )
        self.rebuilt = metrics.gauge(
            "tokenyard_state_rebuilt_records",
            "Records replayed by the last rebuild of a state partition this process owns.",
            ["topic", "partition"],
        )
        self.skipped = metrics.gauge(
            "tokenyard_state_skipped_records",
            "Records of a state partition no view could read (skipped and logged) since this process owns it.",
            ["topic", "partition"],
        )
        self.rss = metrics.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
        self.cpu = metrics.gauge("process_cpu_seconds_total", "User and system CPU time spent in seconds.")
        self.fds = metrics.gauge("process_open_fds", "Number of open file descriptors.")
        metrics.gauge("process_start_time_seconds", "Start time of the process since the epoch.").set(time.time())

    def observe_breakers(self, snapshots: Mapping[str, BreakerSnapshot]) -> None:
        for target, snapshot in snapshots.items():
            self.breaker.set(BREAKER_VALUES[snapshot.state], target=target)
            self.breaker_failures.set(snapshot.consecutive_failures, target=target)

    def observe_rebuilds(
        self, topic: str, rebuilt_records: Mapping[int, int], skipped_records: Mapping[int, int] | None = None
    ) -> None:
        for partition, records in rebuilt_records.items():
            self.rebuilt.set(records, topic=topic, partition=str(partition))
        for partition, records in (skipped_records or {}).items():
            self.skipped.set(records, topic=topic, partition=str(partition))

    def observe_process(self, stats: ProcessStats) -> None:
        if stats.rss_bytes is not None:
            self.rss.set(stats.rss_bytes)
        self.cpu.set(stats.cpu_seconds)
        if stats.open_fds is not None:
            self.fds.set(stats.open_fds)

    def observe_lag(self, group: str, lags: Mapping[tuple[str, int], int | None]) -> None:
        """Replaces the whole set: a partition this process no longer owns disappears."""
        self.lag._values.clear()  # noqa: SLF001 - a gauge family replaced as a whole
        for (topic, partition), lag in sorted(lags.items()):
            if lag is not None:
                self.lag.set(lag, group=group, topic=topic, partition=str(partition))


# -- I/O: the server, the lag reader, wiring into a Faust app -------------------------


class MetricsServer:
    """``GET /metrics`` and ``GET /healthz`` on the first free port of the span."""

    def __init__(
        self, metrics: Metrics, config: MetricsEndpointSettings, *, before_render: Callable[[], None] = lambda: None
    ) -> None:
        self.metrics = metrics
        self.config = config
        self.before_render = before_render
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.config.host in ("0.0.0.0", "::", "") else self.config.host
        return f"http://{host}:{self.port}"

    async def _render(self, request: web.Request) -> web.Response:
        self.before_render()
        return web.Response(body=self.metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE})

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def start(self) -> int:
        app = web.Application()
        app.router.add_get("/metrics", self._render)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        first = self.config.port
        for port in [*range(first, min(first + self.config.port_span, 65536)), 0]:
            try:
                await web.TCPSite(self._runner, self.config.host, port).start()
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    await self.stop()
                    raise
                continue
            self.port = int(self._runner.addresses[-1][1])
            if port == 0:
                log.warning("metrics ports %d-%d are all taken; serving on %d", first,
                            first + self.config.port_span - 1, self.port)
            return self.port
        raise AssertionError("port 0 always binds")  # pragma: no cover

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class LagReader:
    """Lag of the partitions this process owns: OffsetFetch vs fetch-response high watermarks."""

    def __init__(
        self,
        bootstrap: str,
        group: str,
        assignment: Callable[[], Collection[tuple[str, int]]],
        highwater: Callable[[Any], int | None],
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self.bootstrap = bootstrap
        self.security = security
        self.group = group
        self.assignment = assignment
        self.highwater = highwater
        self._admin: Any = None

    async def read(self) -> dict[tuple[str, int], int | None]:
        from aiokafka import TopicPartition
        from aiokafka.admin import AIOKafkaAdminClient

        owned = list(self.assignment())
        if not owned:
            return {}
        if self._admin is None:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **self.security.client_kwargs())
            await self._admin.start()
        # Explicit partitions: tansu breaks the connection on "all partitions" OffsetFetch.
        committed = await self._admin.list_consumer_group_offsets(
            self.group, partitions=[TopicPartition(t, p) for t, p in owned]
        )
        lags: dict[tuple[str, int], int | None] = {}
        for tp in owned:
            offset = committed.get(TopicPartition(tp[0], tp[1]))
            lags[(tp[0], tp[1])] = consumer_lag(offset.offset if offset else None, self.highwater(tp))
        return lags

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None


def endpoint_settings(settings: Any) -> MetricsEndpointSettings:
    """``settings.metrics`` once Settings has the field; the defaults until then."""
    configured = getattr(settings, "metrics", None)
    return configured if isinstance(configured, MetricsEndpointSettings) else MetricsEndpointSettings()


def attach(
    app: Any,
    settings: Any,
    *,
    role: str,
    router: Any = None,
    states: Collection[Any] = (),
    metrics: Metrics | None = None,
) -> Metrics:
    """Serve ``/metrics`` for a Faust ``app`` while it runs; return its registry.

    ``router``: a :class:`~tokenyard.providers.router.Router` (breaker states);
    ``states``: :class:`~tokenyard.streams.partition_state.PartitionState` objects.
    """
    from faust.exceptions import ConsumerNotStarted

    config = endpoint_settings(settings)
    metrics = metrics if metrics is not None else Metrics()
    if not config.enabled:
        return metrics
    observed = ProcessMetrics(metrics, role)

    def refresh() -> None:
        observed.observe_process(read_process_stats())
        if router is not None:
            observed.observe_breakers(router.breakers())
        for state in states:
            observed.observe_rebuilds(state.topic, state.rebuilt_records, state.skipped_records)

    def assignment() -> Collection[tuple[str, int]]:
        try:
            return app.consumer.assignment()
        except ConsumerNotStarted:
            return ()

    server = MetricsServer(metrics, config, before_render=refresh)
    lag = LagReader(settings.kafka.bootstrap, app.conf.id, assignment, lambda tp: app.consumer.highwater(tp), settings.kafka.security)
    where = endpoint_file(settings.worker.data_dir, role, os.getpid())

    @app.task
    async def _serve_metrics() -> None:
        await server.start()
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_bytes(orjson.dumps({"role": role, "pid": os.getpid(), "url": server.url}))
        log.info("%s metrics on %s/metrics", role, server.url)
        while True:
            try:
                observed.observe_lag(app.conf.id, await lag.read())
            except (OSError, KafkaError) as exc:  # the broker is away: keep the last values
                log.warning("cannot read consumer lag: %s", exc)
            await asyncio.sleep(config.lag_interval_s)

    @app.on_before_shutdown.connect
    async def _stop_metrics(app: Any, **kwargs: Any) -> None:
        where.unlink(missing_ok=True)
        await lag.close()
        await server.stop()

    return metrics
