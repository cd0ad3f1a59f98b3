"""The processes a benchmark measures: a fresh tansu broker, the fake provider in a
process of its own, N gateway workers and (optionally) the usage sink.

Each benchmark run gets a new broker (tansu slows as partitions grow, see
ENVIRONMENT.md) and a new topic prefix, and stops every child it started.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from tokenyard.errors import ConfigError, ReplyTimeout
from tokenyard.streams.bench.tenants import balanced_tenants
from tokenyard.streams.broker import LocalBroker, free_port, wait_for_port
from tokenyard.streams.client import TokenyardClient
from tokenyard.streams.settings import Settings, load_settings
from tokenyard.streams.stack import Child, LocalStack
from tokenyard.streams.topics import TopicNames

FAKE_MODEL = "echo"
REQUEST_PARTITIONS = 4
TENANTS = balanced_tenants(REQUEST_PARTITIONS)  # every partition, hence every worker, equally busy


def bench_config(*, bootstrap: str, fake_url: str, prefix: str, data_dir: Path, sink_port: int,
                 concurrency: int = 256, cache: bool = True) -> str:
    """The TOML of a benchmark pipeline: one route, ``default``, to the fake's ``echo``."""
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
request_partitions = {REQUEST_PARTITIONS}
reply_partitions = 4
usage_partitions = 2

[worker]
group_id = "{prefix}-worker"
concurrency = {concurrency}
reply_topics = ["{prefix}.replies"]
data_dir = "{data_dir}"

[clickhouse]
dsn = "chdb://{data_dir}/chdb"

[sink]
group_id = "{prefix}-sink"
web_port = {sink_port}

[local_model]
enabled = false

[cache]
enabled = {"true" if cache else "false"}

[providers.fake]
kind = "openai_compatible"
base_url = "{fake_url}/v1"
timeouts = {{ connect = 2.0, first_byte = 10.0, total = 20.0 }}

[providers.fake.models.{FAKE_MODEL}]
context_window = 8192

[prices."fake/{FAKE_MODEL}"]
input = "1.00"
output = "2.00"
source = "benchmark"
as_of = 2026-11-26

[routes.default]
targets = ["fake:{FAKE_MODEL}"]
"""


def spawn(name: str, cmd: list[str], log_dir: Path, env: dict[str, str] | None = None) -> Child:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
    return Child(name, proc, log_path)


def start_fake_provider(log_dir: Path) -> tuple[Child, str]:
    """``python -m tokenyard.providers.fake_server`` on a free loopback port."""
    port = free_port()
    child = spawn("fake", [sys.executable, "-m", "tokenyard.providers.fake_server", "--port", str(port)], log_dir)
    try:
        wait_for_port("127.0.0.1", port, timeout=20)
    except TimeoutError as exc:
        child.stop()
        raise ConfigError(f"the fake provider did not start; see {child.log_path}") from exc
    return child, f"http://127.0.0.1:{port}"


@dataclass
class Rig:
    """A running pipeline under test; use as a context manager."""

    work_dir: Path
    workers: int = 1
    with_sink: bool = True
    with_cache: bool = True
    concurrency: int = 256
    profile_dir: Path | None = None  # run workers under cProfile, stats written here
    broker: LocalBroker | None = None
    fake: Child | None = None
    fake_url: str = ""
    settings: Settings | None = None
    config_path: Path | None = None
    stack: LocalStack | None = None
    worker_children: list[Child] = field(default_factory=list)

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    def start(self, say: Callable[[str], None]) -> Rig:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            say("starting a fresh tansu broker")
            self.broker = LocalBroker(port=free_port(), log_path=self.log_dir / "broker.log").start()
            say("starting the fake provider")
            self.fake, self.fake_url = start_fake_provider(self.log_dir)
            prefix = f"bench{uuid.uuid4().hex[:6]}"
            self.config_path = self.work_dir / "tokenyard.toml"
            self.config_path.write_text(bench_config(
                bootstrap=self.broker.bootstrap, fake_url=self.fake_url, prefix=prefix,
                data_dir=self.work_dir / "data", sink_port=free_port(), concurrency=self.concurrency,
                cache=self.with_cache,
            ))
            self.settings = load_settings(self.config_path)
            say(f"starting {self.workers} worker(s){' and the usage sink' if self.with_sink else ''}")
            self.stack = LocalStack(
                settings=self.settings, config_path=self.config_path, log_dir=self.log_dir,
                workers=0, with_model=False, with_sink=self.with_sink, with_broker=False,
            ).start(progress=lambda _msg: None)
            for i in range(self.workers):
                self.worker_children.append(spawn(f"worker-{i}", self._worker_command(i), self.log_dir))
        except BaseException:
            self.stop()
            raise
        return self

    def _worker_command(self, index: int) -> list[str]:
        assert self.config_path is not None
        if self.profile_dir is None:
            return [sys.executable, "-m", "tokenyard.streams.cli", "--config", str(self.config_path), "worker"]
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        return [
            sys.executable, "-m", "tokenyard.streams.bench.profiled_worker",
            "--config", str(self.config_path), "--out", str(self.profile_dir / f"worker-{index}.prof"),
        ]

    def pids(self) -> dict[str, int]:
        """Every process of the pipeline by name (the load generator is the caller)."""
        assert self.broker is not None and self.broker.pid is not None and self.fake is not None
        found = {"broker": self.broker.pid, "fake": self.fake.proc.pid}
        for child in self.worker_children:
            found[child.name] = child.proc.pid
        if self.stack is not None:
            for child in self.stack.children:
                found[child.name] = child.proc.pid
        return found

    def dead(self) -> list[str]:
        children = [*self.worker_children, *(self.stack.children if self.stack else [])]
        named = [c.name for c in children if not c.alive()]
        if self.fake is not None and not self.fake.alive():
            named.append("fake")
        if self.broker is not None and not self.broker.running():
            named.append("broker")
        return named

    def client(self) -> TokenyardClient:
        assert self.settings is not None
        return TokenyardClient.from_settings(self.settings)

    def topics(self) -> TopicNames:
        assert self.settings is not None
        return TopicNames.from_settings(self.settings.kafka)

    def stop(self) -> None:
        for child in reversed(self.worker_children):
            child.stop()
        self.worker_children.clear()
        if self.stack is not None:
            self.stack.stop()
            self.stack = None
        if self.fake is not None:
            self.fake.stop()
            self.fake = None
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def wait_until_serving(client: TokenyardClient, rig: Rig, *, timeout_s: float = 90.0,
                             settle_s: float = 2.0) -> float:
    """Probe every tenant until all are answered; returns the seconds it took.

    Workers join their group only after session_timeout / 2 on tansu; a probe
    round that answers every tenant (hence every partition) within a second
    means each partition has an owner.
    """
    started = time.monotonic()
    while True:
        dead = rig.dead()
        if dead:
            raise ConfigError(f"benchmark processes exited during start-up: {', '.join(dead)}; logs in {rig.log_dir}")
        replies = await asyncio.gather(*(
            client.complete([{"role": "user", "content": "ready?"}], model="default", tenant=t, timeout=5.0,
                            raise_on_error=False)
            for t in TENANTS
        ), return_exceptions=True)
        failures = [r for r in replies if isinstance(r, BaseException) or r.status != "ok"]
        if not failures:
            break
        unexpected = [r for r in failures if isinstance(r, BaseException) and not isinstance(r, ReplyTimeout)]
        if unexpected:
            raise unexpected[0]
        if time.monotonic() - started > timeout_s:
            raise ConfigError(
                f"the pipeline did not answer every probe within {timeout_s:.0f}s "
                f"(last: {failures[0]!r}); logs in {rig.log_dir}"
            )
    # A late joiner triggers one more rebalance; give it time to settle.
    await asyncio.sleep(settle_s)
    return time.monotonic() - started


async def partition_sizes(bootstrap: str, topics: list[str], *, timeout_s: float = 10.0) -> dict[str, list[int]]:
    """Records per partition, from the high watermarks of real fetch responses
    (tansu's ListOffsets(latest) is wrong, see ENVIRONMENT.md)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=10)
    await consumer.start()
    try:
        tps: list[TopicPartition] = []
        for topic in topics:
            for p in sorted(consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)):
                tps.append(TopicPartition(topic, p))
        if not tps:
            return {}
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + timeout_s
        while any(consumer.highwater(tp) is None for tp in tps) and time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=200, max_records=1)
        sizes: dict[str, list[int]] = {}
        for tp in tps:
            sizes.setdefault(tp.topic, []).append(consumer.highwater(tp) or 0)
        return sizes
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()
