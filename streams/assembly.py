"""Builds the Faust apps of the two process roles from settings.

* the gateway worker: the request agent (intake -> invoke -> publish);
* the usage sink: batches usage events into ClickHouse. It runs in a process of
  its own because embedded chDB allows one process per data directory; it also
  serves analyst queries on a loopback web port so `tokenyard report` can read
  while it owns the directory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import faust

from tokenyard.agents import deferred
from tokenyard.agents.admission import AdmissionStage, TenantStates
from tokenyard.agents.completed import CompletedRequests
from tokenyard.agents.deferred import deferrer
from tokenyard.agents.gateway import Gateway, register
from tokenyard.agents.lookup import CacheStage, EmbeddingBatcher, ShardView
from tokenyard.agents.intake import IntakeRules
from tokenyard.agents.publish import Publisher, faust_partition_sender, faust_sender
from tokenyard.agents.quota import LedgerBook, QuotaClient, QuotaOwner, first_target_account, register_owner
from tokenyard.cache import MiniLMEmbedder
from tokenyard.cache.snapshot import SnapshotStore
from tokenyard.providers.http_client import provider_http_client
from tokenyard.providers.router import Router
from tokenyard.security.authenticator import Authenticator
from tokenyard.streams import observability, query_views
from tokenyard.streams.app import TokenyardApp, create_app
from tokenyard.streams.metrics import Metrics
from tokenyard.streams.gateway_metrics import GatewayMetrics
from tokenyard.streams.tracing import Tracing
from tokenyard.streams.partition_state import PartitionState, SendToPartition
from tokenyard.streams.settings import Settings
from tokenyard.streams.broker import ensure_topics
from tokenyard.streams.topics import TopicNames, declare

log = logging.getLogger(__name__)


def build_gateway_app(settings: Settings, environ: Mapping[str, str]) -> TokenyardApp:
    app = create_app(settings, app_id=settings.worker.group_id)
    topics = declare(app, settings.kafka)
    # One connection pool for every provider call of this worker.
    in_flight = settings.worker.concurrency * 2  # the main and the deferred agent
    http = provider_http_client(max_connections=in_flight, transport=settings.worker.http_transport)
    router = Router.from_settings(settings, http=http, environ=environ)
    rules = IntakeRules(
        max_prompt_chars=settings.worker.max_prompt_chars,
        reply_topic_patterns=settings.worker.reply_topics,
        internal_topics=topics.names.internal(),
        has_route=router.has_route,
    )
    # State records go out on the app's producer, beside the replies and usage rows
    # they follow: one produce request per linger window instead of one per producer.
    partition_send = faust_partition_sender(app)
    completed = PartitionState(
        bootstrap=settings.kafka.bootstrap,
        topic=topics.names.completions,
        partitions=settings.kafka.request_partitions,
        new_view=lambda partition: CompletedRequests(),
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        security=settings.kafka.security,
        send=partition_send,
    )
    cache, cache_shards = build_cache_stage(settings, topics.names.cache, send=partition_send)
    admission_states: PartitionState[TenantStates] = PartitionState(
        bootstrap=settings.kafka.bootstrap,
        topic=topics.names.admission,
        partitions=settings.kafka.request_partitions,
        new_view=lambda partition: TenantStates(),
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        security=settings.kafka.security,
        send=partition_send,
    )

    # Provider-account limits: quota leases (agents/quota.py); nothing runs without accounts.
    quota_client, quota_states = None, None
    if settings.admission.accounts:
        quota_client = QuotaClient(
            bootstrap=settings.kafka.bootstrap,
            quota_topic=topics.names.quota,
            grants_topic=topics.names.quota_grants,
            send=faust_sender(app),
            aimd=settings.admission.aimd,
            fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
            security=settings.kafka.security,
        )
        quota_states = PartitionState(
            bootstrap=settings.kafka.bootstrap,
            topic=topics.names.quota_state,
            partitions=settings.kafka.request_partitions,
            new_view=lambda partition: LedgerBook(settings.admission),
            fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
            security=settings.kafka.security,
            send=partition_send,
        )
        owner = QuotaOwner(
            config=settings.admission, states=quota_states, send=faust_sender(app),
            grants_topic=topics.names.quota_grants,
        )
        register_owner(app, owner, topics.quota)

    metrics = Metrics()
    targets = {t for route in settings.routes.values() for t in (*route.targets, *(route.low_priority_targets or []))}
    gateway = Gateway(
        metrics=GatewayMetrics(metrics, settings.routes, targets),
        tracing=Tracing.from_settings(settings.tracing, role="worker"),
        rules=rules,
        router=router,
        publisher=Publisher(faust_sender(app), topics.names),
        default_deadline_s=settings.worker.default_deadline_s,
        completed=completed,
        cache=cache,
        admission=AdmissionStage(
            config=settings.admission, states=admission_states,
            quota=quota_client, account_of=first_target_account(router.chain_for),
        ),
        defer=deferrer(partition_send, topics.names.deferred),
        inline_defer_s=settings.worker.inline_defer_s,
        authenticator=(
            Authenticator.from_config(settings.auth, environ)
            if settings.auth.required or settings.auth.tenants
            else None
        ),
    )
    if quota_client is not None and gateway.admission is not None:
        # every provider call, fallbacks and retries included, is charged to the account it hits
        router.gate_calls(gateway.admission.permit_call)
    register(app, gateway, topics.requests, concurrency=settings.worker.concurrency)
    observability.attach(
        app, settings, role="worker", router=router, metrics=metrics,
        states=[s for s in (completed, admission_states, cache_shards) if s is not None],
    )
    deferred.register(app, gateway, topics.deferred, concurrency=settings.worker.concurrency)

    @app.on_partitions_revoked.connect
    async def _forget_revoked(app: Any, revoked: set[Any], **kwargs: Any) -> None:
        mine = {tp.partition for tp in revoked if tp.topic == topics.names.requests}
        completed.revoke(mine)
        admission_states.revoke(mine)
        if quota_states is not None:
            quota_states.revoke({tp.partition for tp in revoked if tp.topic == topics.names.quota})
        if cache_shards is not None:
            cache_shards.revoke(mine)

    @app.on_before_shutdown.connect
    async def _close(app: Any, **kwargs: Any) -> None:
        await completed.stop()
        await admission_states.stop()
        if quota_client is not None and quota_states is not None:
            await quota_client.stop()
            await quota_states.stop()
        if cache_shards is not None:
            await cache_shards.stop()
        await http.aclose()

    return app


def build_cache_stage(
    settings: Settings, topic: str, *, send: SendToPartition | None = None
) -> tuple[CacheStage | None, PartitionState[ShardView] | None]:
    """The lookup stage, or nothing when the cache is disabled."""
    if not settings.cache.enabled:
        return None, None
    # A snapshot holds vectors of this model: another model's must not be loaded.
    snapshots = SnapshotStore(Path(settings.worker.data_dir), topic, model=MiniLMEmbedder.__name__,
                              max_age_s=settings.cache.snapshot_max_age_s) if settings.cache.snapshots else None
    shards: PartitionState[ShardView] = PartitionState(
        bootstrap=settings.kafka.bootstrap,
        topic=topic,
        partitions=settings.kafka.request_partitions,
        new_view=lambda partition: ShardView(settings.cache, time.time, partition=partition, snapshots=snapshots),
        fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        follow=True,  # invalidations come from `tokenyard cache invalidate`
        security=settings.kafka.security,
        send=send,
    )
    # onnxruntime releases the GIL: embedding batches run beside the event loop.
    embed_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedding")

    async def run_blocking(fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(embed_thread, fn)

    embeddings = EmbeddingBatcher(MiniLMEmbedder(threads=1), run_blocking, max_per_s=settings.cache.embed_max_per_s)
    return CacheStage(config=settings.cache, shards=shards, embeddings=embeddings), shards


def build_sink_app(settings: Settings) -> TokenyardApp:
    from tokenyard.agents import usage_sink
    from tokenyard.analytics.client import open_client
    from tokenyard.analytics.migrate import migrate
    from tokenyard.analytics.rollup_repair import repair_recent_hours
    from tokenyard.analytics.sink import RetryPolicy, UsageWriter

    app = create_app(settings, app_id=settings.sink.group_id, web_port=settings.sink.web_port,
                     fetch_max_wait_ms=settings.sink.fetch_max_wait_ms)
    topics = declare(app, settings.kafka)
    client = open_client(settings.clickhouse.dsn, settings.clickhouse.database)
    migrate(client)
    # A sink killed mid-insert can leave fact rows its rollups never counted.
    repaired_from = repair_recent_hours(client)
    if repaired_from is not None:
        log.info("rollups rebuilt from usage_events since %s", repaired_from.isoformat())
    # chDB is not thread-safe across concurrent calls and has no async client:
    # every ClickHouse call of this process goes through this one thread.
    clickhouse_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    async def run_blocking(fn: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(clickhouse_thread, fn)

    sink = usage_sink.UsageSink(
        writer=UsageWriter(client),
        publisher=Publisher(faust_sender(app), topics.names),
        retry=RetryPolicy(max_s=settings.sink.retry_backoff_max_s),
        run_blocking=run_blocking,
    )
    usage_sink.register(
        app, sink, topics.usage,
        batch_size=settings.sink.batch_size, flush_interval_s=settings.sink.flush_interval_s,
    )
    query_views.register(app, client, run_blocking)
    observability.attach(app, settings, role="sink")

    @app.on_before_shutdown.connect
    async def _close_clickhouse(app: Any, **kwargs: Any) -> None:
        await run_blocking(client.close)
        clickhouse_thread.shutdown(wait=True)

    return app


def create_topics(settings: Settings) -> None:
    """Create every topic with its configured partitions before Faust starts.

    Faust declares only the topics its agents consume; a topic first touched by a
    produce would be auto-created with the broker's default partition count, and a
    state topic with the wrong count breaks co-partitioning.
    """
    names = TopicNames.from_settings(settings.kafka)
    asyncio.run(ensure_topics(settings.kafka.bootstrap, names.partition_counts(settings.kafka), settings.kafka.security))


def run(app: faust.App, *, loglevel: str = "info") -> None:
    """Run ``app`` as a Faust worker in the foreground until SIGINT/SIGTERM."""
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False)
    logging.getLogger("faust").setLevel(logging.WARNING if loglevel == "info" else loglevel.upper())
    logging.getLogger("tokenyard").setLevel(loglevel.upper())
    # httpx logs every request at INFO: a line per provider call is noise and CPU.
    logging.getLogger("httpx").setLevel(logging.WARNING if loglevel != "debug" else logging.DEBUG)
    worker.execute_from_commandline()
