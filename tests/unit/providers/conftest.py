"""Provider tests over real sockets run under both HTTP transports a worker can use."""

from __future__ import annotations

import pytest

from tokenyard.providers.http_client import provider_http_client


@pytest.fixture(params=["aiohttp", "httpcore"])
def http_transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def provider_http(http_transport: str):
    # not entered: tests may open it with ``async with`` themselves
    client = provider_http_client(max_connections=32, transport=http_transport)
    yield client
    await client.aclose()
