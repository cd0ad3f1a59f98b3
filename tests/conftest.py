from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenyard.providers.fake_server import FakeProviderServer, serve_in_thread
from tokenyard.streams.broker import LocalBroker


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with LocalBroker(log_path=log) as running:
        yield running


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeProviderServer]:
    with serve_in_thread() as fake:
        yield fake


def dump_logs(log_dir: Path) -> str:
    return "\n".join(f"== {p.name}\n{p.read_text()[-4000:]}" for p in sorted(log_dir.glob("*.log")))
