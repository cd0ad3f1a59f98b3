"""Clients built from [kafka] TLS settings reach a TLS-only broker; wrong trust or no TLS fails.

The broker is tansu behind a TLS terminator (tests/kafka_tls.py explains why tansu
cannot serve TLS itself): the certificates, the client context and the handshakes
are real.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError

from tests.kafka_tls import Pki, make_pki, tls_broker
from tokenyard.streams.client import TokenyardClient
from tokenyard.streams.partition_state import PartitionState
from tokenyard.streams.settings import Settings, load_settings

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def tls_settings(tmp_path: Path, bootstrap: str, kafka: str) -> Settings:
    path = tmp_path / f"{uuid.uuid4().hex}.toml"
    path.write_text(f'[kafka]\nbootstrap = "{bootstrap}"\ntopic_prefix = "tls{uuid.uuid4().hex[:6]}"\n{kafka}')
    return load_settings(path, {})


class Recorder:
    def __init__(self) -> None:
        self.items: list[tuple[bytes | None, bytes | None]] = []

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        self.items.append((key, value))


async def write_and_rebuild(settings: Settings) -> list[tuple[bytes | None, bytes | None]]:
    """Records written by one state store come back in another's rebuild (produce + fetch)."""
    topic = f"{settings.kafka.topic_prefix}.state"
    kw = dict(bootstrap=settings.kafka.bootstrap, topic=topic, partitions=1, security=settings.kafka.security)
    writer = PartitionState(new_view=lambda p: Recorder(), **kw)
    await writer.view(0)
    for i in range(3):
        await writer.append(0, f"k{i}".encode(), f"v{i}".encode())
    await writer.stop()
    reader = PartitionState(new_view=lambda p: Recorder(), **kw)
    try:
        return (await reader.view(0)).items
    finally:
        await reader.stop()


async def test_clients_with_the_ca_reach_a_tls_only_broker(tmp_path: Path, pki: Pki) -> None:
    with tls_broker(pki, tmp_path / "broker.log") as bootstrap:
        settings = tls_settings(tmp_path, bootstrap, f'security_protocol = "SSL"\nssl_cafile = "{pki.ca}"\n')
        async with asyncio.timeout(30):
            assert await write_and_rebuild(settings) == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(3)]
            client = TokenyardClient.from_settings(settings)
            await client.start()  # creates the reply topic, then produces and fetches over TLS
            await client.close()


@pytest.mark.parametrize(
    ("kafka", "logged"),
    [
        ('security_protocol = "SSL"\nssl_cafile = "{other_ca}"\n', "CERTIFICATE_VERIFY_FAILED"),
        ('security_protocol = "PLAINTEXT"\n', "closed"),
    ],
    ids=["untrusted-certificate", "no-tls"],
)
async def test_a_client_that_does_not_trust_the_broker_or_skips_tls_gets_nothing(
    tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture, kafka: str, logged: str
) -> None:
    with tls_broker(pki, tmp_path / "broker.log") as bootstrap:
        settings = tls_settings(tmp_path, bootstrap, kafka.replace("{other_ca}", str(pki.other_ca)))
        client = TokenyardClient.from_settings(settings)
        with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
            async with asyncio.timeout(30):
                await client.start()
        await client.close()
        assert logged in caplog.text


async def test_a_broker_that_requires_client_certificates(tmp_path: Path, pki: Pki) -> None:
    with tls_broker(pki, tmp_path / "broker.log", require_client_cert=True) as bootstrap:
        trusted = f'security_protocol = "SSL"\nssl_cafile = "{pki.ca}"\n'
        with_cert = tls_settings(tmp_path, bootstrap, trusted + f'ssl_certfile = "{pki.client_cert}"\n'
                                 f'ssl_keyfile = "{pki.client_key}"\n')
        async with asyncio.timeout(30):
            assert len(await write_and_rebuild(with_cert)) == 3
        without = TokenyardClient.from_settings(tls_settings(tmp_path, bootstrap, trusted))
        with pytest.raises(KafkaConnectionError):
            async with asyncio.timeout(30):
                await without.start()
        await without.close()
