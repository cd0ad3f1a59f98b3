"""``tokenyard status``: the stack's health at a glance.

Looks at the broker (reachable, the stack's topics and partition counts), the
consumer groups of the workers and the usage sink (members, lag), the usage
sink's query port, the front door (when configured) and every worker's
``/metrics`` endpoint (breaker states). Exit code 0 when every check is ok, 1
when anything is degraded, 2 on a configuration error.

Lag is the committed offset against the high watermark carried by fetch
responses: tansu answers ``ListOffsets(latest)`` with the start of the last
batch + 1 (ENVIRONMENT.md), so end offsets are never asked for. The probe seeks
to where the broker says the end is (at or before the true end on tansu, the end
on Kafka) and fetches from there, which returns at most a batch per partition.

Observing (I/O) and judging (pure: :func:`assess`) are apart so the judgement is
unit-tested on plain values.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import click
import httpx
import orjson
from rich.console import Console
from rich.table import Table

from tokenyard.streams.endpoints import pid_alive, read_endpoints
from tokenyard.streams.observability import BREAKER_VALUES
from tokenyard.streams.kafka_security import PLAINTEXT, KafkaSecurity
from tokenyard.streams.topics import TopicNames

BREAKER_NAMES = {value: state.value for state, value in BREAKER_VALUES.items()}
BREAKER_VALUES_OPEN = max(BREAKER_VALUES.values())
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


# -- what was seen -------------------------------------------------------------------


@dataclass(frozen=True)
class GroupView:
    group: str
    role: str
    exists: bool
    members: int | None = None
    # (topic, partition) -> committed offset (None: nothing committed) and high watermark
    committed: dict[tuple[str, int], int | None] = field(default_factory=dict)
    highwater: dict[tuple[str, int], int | None] = field(default_factory=dict)

    def lag(self) -> dict[tuple[str, int], int | None]:
        return {
            tp: None if self.highwater.get(tp) is None else max(0, self.highwater[tp] - max(c or 0, 0))  # type: ignore[operator]
            for tp, c in self.committed.items()
        }


@dataclass(frozen=True)
class HttpProbe:
    name: str
    url: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Scrape:
    role: str
    url: str
    ok: bool
    detail: str = ""
    breakers: dict[str, int] = field(default_factory=dict)  # target -> 0/1/2


@dataclass(frozen=True)
class Observations:
    bootstrap: str
    broker_error: str | None
    topics: dict[str, int]  # the stack's topics -> partitions
    expected_topics: tuple[str, ...]
    groups: tuple[GroupView, ...]
    sink: HttpProbe
    frontdoor: HttpProbe | None
    scrapes: tuple[Scrape, ...]


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | degraded | skipped
    detail: str


@dataclass(frozen=True)
class Report:
    healthy: bool
    checks: tuple[Check, ...]
    observations: Observations

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1

    def to_json(self) -> dict[str, Any]:
        obs = self.observations
        return {
            "healthy": self.healthy,
            "checks": [asdict(c) for c in self.checks],
            "broker": {"bootstrap": obs.bootstrap, "reachable": obs.broker_error is None, "error": obs.broker_error},
            "topics": obs.topics,
            "groups": [
                {
                    "group": g.group, "role": g.role, "exists": g.exists, "members": g.members,
                    "lag_total": sum(v for v in g.lag().values() if v is not None),
                    "partitions": [
                        {"topic": t, "partition": p, "committed": g.committed[(t, p)],
                         "highwater": g.highwater.get((t, p)), "lag": lag}
                        for (t, p), lag in sorted(g.lag().items())
                    ],
                }
                for g in obs.groups
            ],
            "sink": asdict(obs.sink),
            "frontdoor": asdict(obs.frontdoor) if obs.frontdoor else None,
            "endpoints": [
                {"role": s.role, "url": s.url, "ok": s.ok, "detail": s.detail,
                 "breakers": {t: BREAKER_NAMES.get(v, str(v)) for t, v in sorted(s.breakers.items())}}
                for s in obs.scrapes
            ],
        }


# -- judging (pure) --------------------------------------------------------------------


def assess(obs: Observations, *, max_lag: int) -> Report:
    checks: list[Check] = []

    def add(name: str, ok: bool, detail: str) -> None:
        checks.append(Check(name, "ok" if ok else "degraded", detail))

    if obs.broker_error is not None:
        add("broker", False, f"{obs.bootstrap} unreachable: {obs.broker_error}")
    else:
        add("broker", True, f"{obs.bootstrap} reachable")
        missing = [t for t in obs.expected_topics if t not in obs.topics]
        add("topics", not missing,
            f"missing {', '.join(missing)} (has no worker or sink started?)" if missing
            else f"{len(obs.topics)} topics")
        for group in obs.groups:
            name = f"group {group.group}"
            if not group.exists or not group.members:
                add(name, False, f"no {group.role} is consuming")
                continue
            lags = group.lag()
            total = sum(v for v in lags.values() if v is not None)
            unknown = sum(1 for v in lags.values() if v is None)
            note = f"{group.members} member(s), lag {total}" + (f" ({unknown} partitions unknown)" if unknown else "")
            add(name, total <= max_lag, note + (f" > {max_lag}" if total > max_lag else ""))
    add("usage sink", obs.sink.ok, f"{obs.sink.url} {obs.sink.detail}".strip())
    if obs.frontdoor is None:
        checks.append(Check("front door", "skipped", "not configured (frontdoor.keys_file or --frontdoor-url)"))
    else:
        add("front door", obs.frontdoor.ok, f"{obs.frontdoor.url} {obs.frontdoor.detail}".strip())
    if not obs.scrapes:
        checks.append(Check("metrics", "skipped", "no worker metrics endpoint found (pass --metrics-url)"))
    for scrape in obs.scrapes:
        open_ = sorted(t for t, v in scrape.breakers.items() if v == BREAKER_VALUES_OPEN)
        if not scrape.ok:
            add(f"{scrape.role} {scrape.url}", False, scrape.detail)
        else:
            add(f"{scrape.role} {scrape.url}", not open_,
                f"breakers open: {', '.join(open_)}" if open_ else f"{len(scrape.breakers)} breaker(s), none open")
    healthy = all(c.status != "degraded" for c in checks)
    return Report(healthy, tuple(checks), obs)


def parse_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of metric ``name`` in a Prometheus text exposition."""
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group(1) != name:
            continue
        labels = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for k, v in _LABEL.findall(match.group(2) or "")}
        try:
            found.append((labels, float(match.group(3))))
        except ValueError:
            continue
    return found


# -- observing (I/O) -------------------------------------------------------------------


async def observe_kafka(
    bootstrap: str, names: TopicNames, groups: Mapping[str, tuple[str, Sequence[str]]], timeout_s: float,
    security: KafkaSecurity = PLAINTEXT,
) -> tuple[str | None, dict[str, int], tuple[GroupView, ...]]:
    """(error, topics, groups); ``groups`` maps a group id to (role, topics it consumes)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000), **security.client_kwargs()
    )
    probe = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10,
        max_partition_fetch_bytes=1024, request_timeout_ms=int(timeout_s * 1000), **security.client_kwargs(),
    )
    try:
        async with asyncio.timeout(timeout_s):
            await admin.start()
            listed = [t for t in await admin.list_topics() if t.startswith(f"{names.requests.rsplit('.', 1)[0]}.")]
            described = await admin.describe_topics(listed) if listed else []
            topics = {d["topic"]: len(d["partitions"]) for d in described if not d.get("error_code")}
            existing = {g for g, _ in await admin.list_consumer_groups()}
            views = []
            for group, (role, consumed) in groups.items():
                if group not in existing:
                    views.append(GroupView(group, role, exists=False))
                    continue
                members = len((await admin.describe_consumer_groups([group]))[0].groups[0][5])
                tps = [TopicPartition(t, p) for t in consumed for p in range(topics.get(t, 0))]
                offsets = await admin.list_consumer_group_offsets(group, partitions=tps) if tps else {}
                committed = {(tp.topic, tp.partition): (o.offset if o.offset >= 0 else None)
                             for tp, o in offsets.items()}
                views.append(GroupView(group, role, True, members, committed))
            all_tps = sorted({tp for v in views for tp in v.committed})
            marks = await _highwaters(probe, [TopicPartition(t, p) for t, p in all_tps]) if all_tps else {}
            views = [GroupView(v.group, v.role, v.exists, v.members, v.committed,
                               {tp: marks.get(tp) for tp in v.committed}) for v in views]
            return None, topics, tuple(views)
    except (KafkaError, OSError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}".rstrip(": "), {}, ()
    finally:
        await admin.close()
        await probe.stop()


async def _highwaters(probe: Any, tps: list[Any]) -> dict[tuple[str, int], int | None]:
    """High watermarks from fetch responses (a fetch from the reported end is cheap)."""
    await probe.start()
    probe.assign(tps)
    await probe.seek_to_end(*tps)
    asked_ms = int(time.time() * 1000)
    for _ in range(100):
        await probe.getmany(*tps, timeout_ms=50, max_records=1)
        if all((probe.last_poll_timestamp(tp) or 0) >= asked_ms for tp in tps):
            break
    return {(tp.topic, tp.partition): probe.highwater(tp) for tp in tps}


async def probe_http(
    http: httpx.AsyncClient, name: str, url: str, path: str, *, any_answer: bool = False
) -> HttpProbe:
    """``any_answer``: the port is up if it answers HTTP at all (the sink's query
    port serves named queries only, so ``/`` is a 404 there)."""
    try:
        response = await http.get(url.rstrip("/") + path)
    except httpx.HTTPError as exc:
        return HttpProbe(name, url, False, f"unreachable ({type(exc).__name__})")
    return HttpProbe(name, url, any_answer or response.is_success, f"HTTP {response.status_code}")


async def scrape(http: httpx.AsyncClient, role: str, url: str) -> Scrape:
    try:
        response = await http.get(url.rstrip("/") + "/metrics")
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return Scrape(role, url, False, f"unreachable ({type(exc).__name__})")
    breakers = {labels.get("target", "?"): int(value)
                for labels, value in parse_samples(response.text, "tokenyard_breaker_state")}
    return Scrape(role, url, True, breakers=breakers)


async def observe(
    settings: Any, *, sink_url: str, frontdoor_url: str | None, metrics_urls: Sequence[str], timeout_s: float
) -> Observations:
    names = TopicNames.from_settings(settings.kafka)
    groups = {
        settings.worker.group_id: ("worker", (names.requests, names.deferred)),
        settings.sink.group_id: ("usage sink", (names.usage,)),
    }
    endpoints = [(e.role, e.url) for e in read_endpoints(settings.worker.data_dir, alive=pid_alive)]
    endpoints += [("endpoint", url) for url in metrics_urls]
    async with httpx.AsyncClient(timeout=min(timeout_s, 5.0)) as http:
        kafka, sink, door, *scrapes = await asyncio.gather(
            observe_kafka(settings.kafka.bootstrap, names, groups, timeout_s, settings.kafka.security),
            probe_http(http, "usage sink", sink_url, "/", any_answer=True),
            probe_http(http, "front door", frontdoor_url, "/healthz") if frontdoor_url else _none(),
            *(scrape(http, role, url) for role, url in endpoints),
        )
    error, topics, group_views = kafka
    return Observations(
        settings.kafka.bootstrap, error, topics, (names.requests, names.deferred, names.usage),
        group_views, sink, door, tuple(scrapes),
    )


async def _none() -> None:
    return None


# -- showing -----------------------------------------------------------------------------

_STYLE = {"ok": "green", "degraded": "red", "skipped": "dim"}


def render(report: Report, console: Console) -> None:
    checks = Table(title="tokenyard status: " + ("[green]healthy[/green]" if report.healthy else "[red]degraded[/red]"))
    for column in ("check", "status", "detail"):
        checks.add_column(column)
    for check in report.checks:
        style = _STYLE[check.status]
        checks.add_row(check.name, f"[{style}]{check.status}[/{style}]", check.detail)
    console.print(checks)
    obs = report.observations
    if obs.topics:
        topics = Table(title="topics")
        topics.add_column("topic")
        topics.add_column("partitions", justify="right")
        for name, partitions in sorted(obs.topics.items()):
            topics.add_row(name, str(partitions))
        console.print(topics)
    if any(g.committed for g in obs.groups):
        lag = Table(title="consumer lag (committed offset vs fetch high watermark; per partition in --json)")
        for column in ("group", "topic", "partitions", "lag", "unknown"):
            lag.add_column(column, justify="left" if column in ("group", "topic") else "right")
        for group in obs.groups:
            by_topic: dict[str, list[int | None]] = {}
            for (topic, _), value in sorted(group.lag().items()):
                by_topic.setdefault(topic, []).append(value)
            for topic, values in by_topic.items():
                known = [v for v in values if v is not None]
                lag.add_row(group.group, topic, str(len(values)), str(sum(known)), str(len(values) - len(known)))
        console.print(lag)
    breakers = [(s, t, v) for s in obs.scrapes for t, v in sorted(s.breakers.items())]
    if breakers:
        table = Table(title="circuit breakers")
        for column in ("endpoint", "target", "state"):
            table.add_column(column)
        for scraped, target, value in breakers:
            name = BREAKER_NAMES.get(value, str(value))
            table.add_row(scraped.url, target, f"[red]{name}[/red]" if value == BREAKER_VALUES_OPEN else name)
        console.print(table)


def _local_url(host: str, port: int) -> str:
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--sink-url", default=None, help="The usage sink's query port  [default: http://127.0.0.1:<sink.web_port>]")
@click.option("--frontdoor-url", default=None,
              help="The front door  [default: frontdoor.host:port when frontdoor.keys_file is set]")
@click.option("--metrics-url", "metrics_urls", multiple=True,
              help="A /metrics endpoint to read besides those in <worker.data_dir>/endpoints (repeatable).")
@click.option("--max-lag", default=1000, show_default=True, help="Total lag per group above which it is degraded.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the broker.")
@click.pass_obj
def status(ctx: object, as_json: bool, sink_url: str | None, frontdoor_url: str | None,
           metrics_urls: tuple[str, ...], max_lag: int, timeout: float) -> None:
    """The stack's health: broker, topics, consumer lag, usage sink, front door, breakers.

    Exit code 0 when everything is ok, 1 when anything is degraded.
    """
    settings = ctx.settings  # type: ignore[attr-defined]
    door = settings.frontdoor
    if frontdoor_url is None and door.keys_file is not None:
        frontdoor_url = _local_url(door.host, door.port)
    observations = asyncio.run(observe(
        settings, sink_url=sink_url or _local_url("127.0.0.1", settings.sink.web_port),
        frontdoor_url=frontdoor_url, metrics_urls=metrics_urls, timeout_s=timeout,
    ))
    report = assess(observations, max_lag=max_lag)
    if as_json:
        click.echo(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
    else:
        render(report, Console())
    sys.exit(report.exit_code)
