"""The Faust app factory. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import faust

from tokenyard.streams.settings import Settings
from tokenyard.streams.topics import TopicNames
from tokenyard.streams.transport import Transport


class TokenyardApp(faust.App):
    """A Faust app whose consumers honour ``kafka.fetch_max_wait_ms`` and whose
    producer tracks ``producer_topics`` from the start (see streams/transport.py)."""

    def __init__(
        self, *args: Any, fetch_max_wait_ms: int, producer_topics: Iterable[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.producer_topics = frozenset(producer_topics)

    def _new_transport(self) -> Transport:
        return Transport(self.conf.broker_consumer, self)


def create_app(
    settings: Settings, *, app_id: str, web_port: int | None = None, data_dir: str | None = None,
    fetch_max_wait_ms: int | None = None,
) -> TokenyardApp:
    """One app per process role (workers, usage sink); ``app_id`` is the group id.

    ``fetch_max_wait_ms`` overrides ``kafka.fetch_max_wait_ms`` for a role that
    does not need hop latency (the usage sink).
    """
    kafka = settings.kafka
    datadir = Path(data_dir or f"{settings.worker.data_dir}/faust-{app_id}")
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return TokenyardApp(
        app_id,
        broker=f"kafka://{kafka.bootstrap}",
        broker_credentials=kafka.security.faust_credentials(),
        fetch_max_wait_ms=fetch_max_wait_ms or kafka.fetch_max_wait_ms,
        producer_topics=TopicNames.from_settings(kafka).all(),
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=kafka.heartbeat_interval_s,
        broker_request_timeout=max(40.0, kafka.session_timeout_s * 2),
        broker_commit_interval=0.5,
        producer_linger=kafka.producer_linger_ms / 1000.0,
        # tansu has no idempotent producer or transactions: at-least-once.
        processing_guarantee="at_least_once",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=1,
        topic_partitions=kafka.request_partitions,
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_host=settings.sink.web_host,
        datadir=str(datadir),
        store="memory://",
        autodiscover=False,
    )
