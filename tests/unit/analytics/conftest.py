"""chDB fixtures for the analytics tests.

chDB runs one engine per process: while any client is open on one directory, a
client on another directory fails. So every test uses the same session directory,
each with its own database, and closes its client when it ends (so tests elsewhere
in the same process can hand the engine over to their own directory in between).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tokenyard.analytics.client import AnalyticsClient, open_client
from tokenyard.analytics.migrate import migrate
from tokenyard.schemas.records import UsageEvent

BASE_MS = 1_790_000_000_000  # 2026-09-21T13:46:40Z


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def fresh_client(chdb_dir: Path, request: pytest.FixtureRequest) -> Iterator[AnalyticsClient]:
    """A client on an empty database of its own, nothing migrated."""
    database = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[:60]
    client = open_client(f"chdb://{chdb_dir}", database)
    client.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
    client.command(f"CREATE DATABASE `{database}`")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def client(fresh_client: AnalyticsClient) -> AnalyticsClient:
    """A client on a migrated database of its own."""
    migrate(fresh_client)
    return fresh_client


def usage_events(
    requests: int = 30, start_ms: int = BASE_MS, prefix: str = "r"
) -> list[UsageEvent]:
    """A known workload: per request one or two attempts and one request row.

    Request i: tenant t{i%3}, route chat (odd) or code (even); every 5th request's
    first attempt fails (provider_timeout, cost 0.0005) and falls back to a second
    attempt; every 4th request is a cache hit (no attempt, saves 0.002).
    """
    events: list[UsageEvent] = []
    for i in range(requests):
        ts = start_ms + i * 60_000 + 7
        common = {"request_id": f"{prefix}{i}", "tenant": f"t{i % 3}", "route": "chat" if i % 2 else "code"}
        if i % 4 == 0:
            events.append(
                UsageEvent(
                    event_id=f"{prefix}{i}:request", kind="request", ts_ms=ts, status="ok", cached=True,
                    cost_saved_usd=Decimal("0.002"), similarity=0.96, latency_ms=3.0, **common,
                )
            )
            continue
        attempts = []
        if i % 5 == 0:
            attempts.append(
                UsageEvent(
                    event_id=f"{prefix}{i}:a0", kind="attempt", ts_ms=ts, attempt=0, provider="openai",
                    model="gpt-4o", status="error", error_code="provider_timeout",
                    cost_usd=Decimal("0.0005"), input_tokens=100, latency_ms=30_000.0, **common,
                )
            )
        depth = len(attempts)
        attempts.append(
            UsageEvent(
                event_id=f"{prefix}{i}:a{depth}", kind="attempt", ts_ms=ts + 1, attempt=depth,
                provider="anthropic" if depth else "openai",
                model="claude" if depth else "gpt-4o", status="ok",
                input_tokens=100, output_tokens=50, cost_usd=Decimal("0.001") * (1 + i % 3),
                latency_ms=200.0 + i, ttft_ms=50.0, fallback_depth=depth, **common,
            )
        )
        events.extend(attempts)
        events.append(
            UsageEvent(
                event_id=f"{prefix}{i}:request", kind="request", ts_ms=ts + 2, status="ok",
                provider=attempts[-1].provider, model=attempts[-1].model,
                input_tokens=sum(a.input_tokens for a in attempts),
                output_tokens=sum(a.output_tokens for a in attempts),
                cost_usd=sum((a.cost_usd for a in attempts), Decimal(0)),
                latency_ms=210.0 + i, fallback_depth=depth, **common,
            )
        )
    return events


@pytest.fixture(scope="session")
def make_events():
    """``usage_events`` as a fixture, so test modules need no package imports."""
    return usage_events
