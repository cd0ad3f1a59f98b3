"""A running tokenyard pipeline for end-to-end tests: real broker, real workers
(child processes), a fake provider over real HTTP, the usage sink on chDB."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer

from tokenyard.providers.fake_server import FakeProviderServer
from tokenyard.streams.broker import free_port
from tokenyard.streams.client import TokenyardClient
from tokenyard.streams.offset_holes import GaplessConsumer
from tokenyard.streams.settings import Settings, load_settings
from tokenyard.streams.stack import LocalStack
from tokenyard.streams.topics import TopicNames

FAKE_MODELS = ["echo", "echo@idem", "cut-after-3", "fail-500", "fail-429", "malformed", "slow-first-byte-3000"]


def write_config(
    path: Path, *, bootstrap: str, fake_url: str, prefix: str, data_dir: Path, extra: str = ""
) -> Path:
    worker_extra = ""
    if "[worker]\n" in extra:
        head, _, rest = extra.partition("[worker]\n")
        worker_lines, _, tail = rest.partition("\n\n")
        worker_extra, extra = worker_lines, head + tail
    models = "\n".join(
        f'[providers.fake.models."{m}"]\ncontext_window = 8192\n' for m in FAKE_MODELS
    )
    path.write_text(
        f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
request_partitions = 4
reply_partitions = 2
usage_partitions = 2

[worker]
group_id = "{prefix}-worker"
concurrency = 32
max_prompt_chars = 5000
default_deadline_s = 30.0
reply_topics = ["{prefix}.replies", "{prefix}.replies.*"]
data_dir = "{data_dir}"
{worker_extra}

[clickhouse]
dsn = "chdb://{data_dir}/chdb"

[sink]
group_id = "{prefix}-sink"
batch_size = 200
flush_interval_s = 0.3
web_port = {free_port()}

[local_model]
enabled = false

[providers.fake]
kind = "openai_compatible"
base_url = "{fake_url}/v1"
timeouts = {{ connect = 1.0, first_byte = 2.0, total = 5.0 }}

{models}

[prices."fake/echo"]
input = "1.00"
output = "2.00"
source = "test"
as_of = 2026-11-26

[routes.default]
targets = ["fake:echo"]

[routes.fallback]
targets = ["fake:fail-500", "fake:echo"]

[routes.cutting]
targets = ["fake:cut-after-3", "fake:echo"]
retry = {{ max_attempts_per_target = 1 }}

[routes.idem]
targets = ["fake:echo@idem"]

[routes.slow]
targets = ["fake:slow-first-byte-3000"]

[routes.broken]
targets = ["fake:fail-500"]
{extra}
"""
    )
    return path


@dataclass
class Pipeline:
    settings: Settings
    config: Path
    stack: LocalStack
    fake: FakeProviderServer

    @property
    def names(self) -> TopicNames:
        return TopicNames.from_settings(self.settings.kafka)

    def client(self) -> TokenyardClient:
        return TokenyardClient.from_settings(self.settings)

    async def produce_raw(self, values: list[bytes], key: bytes | None = b"acme") -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka.bootstrap)
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(self.names.requests, value, key=key)
        finally:
            await producer.stop()

    async def read_topic(self, topic: str, *, until: int, timeout: float = 30.0) -> list[Any]:
        """Every record of ``topic`` from the start, waiting until ``until`` have come."""
        consumer = GaplessConsumer(
            topic,
            bootstrap_servers=self.settings.kafka.bootstrap,
            group_id=f"reader-{uuid.uuid4().hex}",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,
        )
        await consumer.start()
        values: list[Any] = []
        try:
            async with asyncio.timeout(timeout):
                while len(values) < until:
                    batch = await consumer.getmany(timeout_ms=200)
                    for records in batch.values():
                        values.extend(orjson.loads(r.value) for r in records)
        except TimeoutError:
            pass
        finally:
            await consumer.stop()
        return values

    async def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.settings.sink.web_port}/analytics/query/{name}/"
        async with httpx.AsyncClient() as http:
            response = await http.get(url, params=params, timeout=30)
        response.raise_for_status()
        return response.json()["rows"]


def start_pipeline(
    tmp: Path, bootstrap: str, fake: FakeProviderServer, *, workers: int = 1, extra: str = ""
) -> Pipeline:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    config = write_config(
        tmp / "tokenyard.toml", bootstrap=bootstrap, fake_url=fake.base_url, prefix=prefix,
        data_dir=tmp / "data", extra=extra,
    )
    settings = load_settings(config)
    stack = LocalStack(
        settings=settings, config_path=config, log_dir=tmp / "logs",
        workers=workers, with_model=False, with_broker=False,
    )
    stack.start(progress=lambda msg: None)
    return Pipeline(settings, config, stack, fake)


async def wait_until_serving(
    pipeline: Pipeline, client: TokenyardClient | None = None, timeout: float = 90.0, tenant: str = "probe"
) -> None:
    """Until a first request is answered; fails at once if a child process exits."""
    async with (client or pipeline.client()) as probe_client:
        await answered_once(pipeline, probe_client, "ready?", tenant=tenant, timeout=timeout)


async def answered_once(
    pipeline: Pipeline, client: TokenyardClient, prompt: str, *, tenant: str, timeout: float, **options: Any
) -> None:
    """Send ``prompt`` through a started client until answered ok; fail at once if a child process exits."""
    probe = asyncio.ensure_future(client.complete(
        [{"role": "user", "content": prompt}], tenant=tenant, timeout=timeout, **options
    ))
    while not probe.done():
        dead = pipeline.stack.dead_children()
        if dead:
            probe.cancel()
            raise RuntimeError(f"{[c.name for c in dead]} exited during start-up")
        await asyncio.sleep(0.1)
    assert probe.result().status == "ok"


@contextlib.contextmanager
def serving_pipeline(
    tmp: Path, bootstrap: str, fake: FakeProviderServer, *, ready_client: Callable[[Pipeline], TokenyardClient]
    | None = None, probe_tenant: str = "probe", **kwargs: Any,
) -> Iterator[Pipeline]:
    """A started pipeline that has answered once; its logs are printed if start-up fails."""
    from tests.conftest import dump_logs

    pipeline = start_pipeline(tmp, bootstrap, fake, **kwargs)
    try:
        asyncio.run(wait_until_serving(
            pipeline, ready_client(pipeline) if ready_client else None, tenant=probe_tenant
        ))
    except BaseException:
        print(dump_logs(tmp / "logs"))
        pipeline.stack.stop()
        raise
    try:
        yield pipeline
    finally:
        pipeline.stack.stop()
