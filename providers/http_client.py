"""The one httpx client a worker uses for every provider call."""

from __future__ import annotations

import httpx

from tokenyard.providers.aiohttp_transport import AiohttpTransport
from tokenyard.providers.config import HttpTransport


def provider_http_client(*, max_connections: int, transport: HttpTransport = "aiohttp") -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` pooled for ``max_connections`` calls in flight.

    ``aiohttp`` (the default) moves the bytes with aiohttp's C parser, about half
    the CPU per call of httpx's own ``httpcore`` transport; ``httpcore`` is kept as
    the reference the benchmarks compare against.
    """
    if transport == "aiohttp":
        return httpx.AsyncClient(transport=AiohttpTransport(max_connections=max_connections), timeout=None)
    # httpcore's pool costs CPU per pooled connection on every request: size it to
    # the calls one worker can have in flight, not larger.
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(limits=limits, timeout=None)  # each call sets its own phased timeouts
