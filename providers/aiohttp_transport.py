"""An httpx transport that moves bytes with aiohttp.

Provider calls keep httpx's API (requests, responses, exceptions: everything in
``http_call.py`` is written against it); only the connection pool and the HTTP/1.1
parser underneath change. httpx's own transport (httpcore over anyio) measured
0.9 ms of CPU per call on loopback here, this one 0.36 ms (aiohttp parses in C):
``benchmarks/http_transport.py``. On a 2-core worker that is a fifth of the CPU
a request costs.

aiohttp's exceptions are translated into the httpx exception each one means, so
the failure classes of ``http_call._transport_failure`` (cannot connect, connect
timeout, connection broken, stream cut) are the same under both transports; the
provider fault tests run against both. Read and write timeouts are not used:
``http_call`` bounds every await with its own phase deadlines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import aiohttp
import httpx

_CHUNK = 64 * 1024


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:  # connect, or waiting for a pooled connection
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
    except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS
        raise httpx.ConnectError(str(exc), request=request) from exc
    except aiohttp.ClientPayloadError as exc:  # body cut short or badly framed
        raise httpx.RemoteProtocolError(str(exc), request=request) from exc
    except aiohttp.ServerTimeoutError as exc:
        raise httpx.ReadTimeout(str(exc), request=request) from exc
    except (aiohttp.ClientConnectionError, aiohttp.ClientResponseError) as exc:
        # the server closed the connection, reset it, or sent no valid HTTP
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
    except aiohttp.InvalidURL as exc:
        raise httpx.UnsupportedProtocol(str(exc), request=request) from exc


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            # read(n) returns whatever has arrived (up to n): SSE events are not held back
            while chunk := await self._response.content.read(_CHUNK):
                yield chunk

    async def aclose(self) -> None:
        # A body read to its end returns the connection to the pool; one abandoned
        # mid-way (cancelled, failed) must not be reused.
        if self._response.content.at_eof():
            self._response.release()
        else:
            self._response.close()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp connection pool behind an ``httpx.AsyncClient``."""

    def __init__(self, *, max_connections: int, keepalive_s: float = 30.0) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        # created on first use: a ClientSession belongs to the running event loop
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=self._keepalive_s, ttl_dns_cache=300,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.ByteStream):
            raise httpx.UnsupportedProtocol("this transport sends whole bodies only", request=request)
        timeouts = request.extensions.get("timeout", {})
        connect = timeouts.get("connect")
        session = self._open_session()
        with _as_httpx_errors(request):
            response = await session.request(
                request.method,
                str(request.url),
                headers=list(request.headers.multi_items()),
                data=request.content or None,
                allow_redirects=False,
                compress=None,
                timeout=aiohttp.ClientTimeout(total=None, connect=timeouts.get("pool", connect),
                                              sock_connect=connect),
            )
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
            await asyncio.sleep(0)  # let aiohttp finish closing its sockets
