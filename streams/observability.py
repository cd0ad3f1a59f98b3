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

Request metrics of the gateway stages are declared by :class:`GatewayMetrics` on
the same registry (:func:`attach` returns it) for the gateway to record.
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

from tokenyard.errors import error_class
from tokenyard.providers.breaker import BreakerSnapshot, BreakerState
from tokenyard.streams.kafka_security import PLAINTEXT, KafkaSecurity
from tokenyard.streams.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

ENDPOINTS_DIR = "endpoints"
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


def endpoint_file(data_dir: str | Path, role: str, pid: int) -> Path:
    return Path(data_dir) / ENDPOINTS_DIR / f"{role}-{pid}.json"


@dataclass(frozen=True)
class Endpoint:
    role: str
    pid: int
    url: str


def read_endpoints(data_dir: str | Path, *, alive: Callable[[int], bool]) -> list[Endpoint]:
    """The endpoint files of processes still alive (a killed worker leaves its file)."""
    found: list[Endpoint] = []
    for path in sorted((Path(data_dir) / ENDPOINTS_DIR).glob("*.json")):
        try:
            raw = orjson.loads(path.read_bytes())
            endpoint = Endpoint(str(raw["role"]), int(raw["pid"]), str(raw["url"]))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring unreadable endpoint file %s: %s", path, exc)
            continue
        if alive(endpoint.pid):
            found.append(endpoint)
    return found


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


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


class GatewayMetrics:
    """Request metrics for the gateway stages, declared once; the gateway records them.

    Label values must come from bounded sets: ``route`` is mapped to ``unknown``
    unless configured, ``target`` likewise, ``outcome`` is ``ok`` or a tokenyard
    error code (else ``other``).
    """

    def __init__(self, metrics: Metrics, routes: Collection[str], targets: Collection[str]) -> None:
        self.routes = frozenset(routes)
        self.targets = frozenset(targets)
        self.requests = metrics.counter(
            "tokenyard_requests_total", "Requests finished by a stage, by route and outcome.",
            ["stage", "route", "outcome"],
        )
        self.stage_latency = metrics.histogram(
            "tokenyard_stage_duration_seconds", "Time a request spent in one stage.", ["stage"]
        )
        self.provider_calls = metrics.counter(
            "tokenyard_provider_calls_total", "Calls to a provider target, by outcome.", ["target", "outcome"]
        )
        self.provider_latency = metrics.histogram(
            "tokenyard_provider_duration_seconds", "Duration of one provider call.", ["target"]
        )
        self.cache = metrics.counter(
            "tokenyard_cache_lookups_total", "Cache lookups by result (exact, semantic, miss, bypass).",
            ["route", "result"],
        )
        self.cache_saved = metrics.counter(
            "tokenyard_cache_saved_usd_total", "Provider cost avoided by cache hits, in USD.", ["route"]
        )
        self.tokens = metrics.counter(
            "tokenyard_tokens_total", "Tokens billed by providers.", ["route", "target", "kind"]
        )
        self.cost = metrics.counter("tokenyard_cost_usd_total", "Provider cost in USD.", ["route", "target"])
        self.admission = metrics.counter(
            "tokenyard_admission_decisions_total", "Admission decisions (admit, defer, reject).",
            ["route", "decision"],
        )

    def route(self, route: str | None) -> str:
        return route if route in self.routes else "unknown"

    def target(self, target: str | None) -> str:
        return target if target in self.targets else "unknown"

    @staticmethod
    def outcome(code: str | None) -> str:
        if code is None or code == "ok":
            return "ok"
        return code if error_class(code) is not None else "other"

    def finished(self, stage: str, route: str | None, code: str | None, seconds: float) -> None:
        self.requests.inc(stage=stage, route=self.route(route), outcome=self.outcome(code))
        self.stage_latency.observe(seconds, stage=stage)

    def provider_call(self, target: str, code: str | None, seconds: float) -> None:
        self.provider_calls.inc(target=self.target(target), outcome=self.outcome(code))
        self.provider_latency.observe(seconds, target=self.target(target))

    def billed(self, route: str | None, target: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        r, t = self.route(route), self.target(target)
        self.tokens.inc(input_tokens, route=r, target=t, kind="input")
        self.tokens.inc(output_tokens, route=r, target=t, kind="output")
        self.cost.inc(cost_usd, route=r, target=t)



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
