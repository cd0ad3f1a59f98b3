"""The one place providers touch the network: a POST, answered by JSON or by SSE.

Every httpx exception and every deadline ends here as a :class:`ProviderError`.
Deadlines are enforced per await (never across a ``yield``), so a stream consumer
that is slow between events is never cancelled by a timer it does not own:

- ``connect``: httpx's connect/pool timeout (phase ``connect``);
- ``first_byte``: from the call's start until the response headers, and for streams
  until the first body line (phase ``first_byte``);
- ``total``: from the call's start until the body is complete (phase ``total``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tokenyard.errors import (
    BadProviderResponse,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    StreamInterrupted,
)
from tokenyard.providers.base import CallTimeouts
from tokenyard.providers.http_failures import error_from_response, scrub
from tokenyard.providers.sse import SseDecoder, SseEvent


RATE_LIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")
RETRY_AFTER_HEADERS = frozenset({"retry-after", "retry-after-ms"})
_MAX_RATE_LIMIT_HEADERS = 24
_MAX_VALUE_CHARS = 64


def rate_limit_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Only what an answer says about rate limits, for admission's adaptive rate.

    An allow-list of names (``x-ratelimit-*``, ``anthropic-ratelimit-*``,
    ``retry-after``, ``retry-after-ms``), lower-cased, bounded in number and
    length: nothing else an answer carries (cookies, request ids, anything
    echoing credentials) leaves the provider layer this way.
    """
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in RETRY_AFTER_HEADERS or lower.startswith(RATE_LIMIT_PREFIXES):
            kept[lower] = value[:_MAX_VALUE_CHARS]
            if len(kept) >= _MAX_RATE_LIMIT_HEADERS:
                break
    return kept


# Called once per answer with its rate-limit headers.
OnRateLimits = Callable[[dict[str, str]], None]


@dataclass(frozen=True)
class CallTarget:
    """Who is called and how: what every error message and request needs."""

    provider: str
    model: str
    url: str
    headers: dict[str, str]
    secret: str | None
    wall_clock: Callable[[], float]


class _Deadlines:
    """The call's two loop-time deadlines and which one currently applies."""

    def __init__(self, timeouts: CallTimeouts):
        now = asyncio.get_running_loop().time()
        self.total_at = now + timeouts.total
        if timeouts.first_byte < timeouts.total:
            self.current_at, self.phase = now + timeouts.first_byte, "first_byte"
        else:
            self.current_at, self.phase = self.total_at, "total"

    def first_byte_seen(self) -> None:
        self.current_at, self.phase = self.total_at, "total"


def _httpx_timeout(timeouts: CallTimeouts) -> httpx.Timeout:
    # Reads and writes are bounded by our own deadlines, which know the phase.
    return httpx.Timeout(connect=timeouts.connect, read=None, write=None, pool=timeouts.connect)


def _timeout(target: CallTarget, phase: str, timeouts: CallTimeouts) -> ProviderTimeout:
    limit = {"connect": timeouts.connect, "first_byte": timeouts.first_byte}.get(phase, timeouts.total)
    return ProviderTimeout(
        f"{target.provider}:{target.model} timed out ({phase} limit {limit:g}s)",
        provider=target.provider,
        model=target.model,
        phase=phase,
    )


def _transport_failure(
    exc: httpx.HTTPError, target: CallTarget, deadlines: _Deadlines, timeouts: CallTimeouts, *, streaming: bool
) -> ProviderError:
    who = f"{target.provider}:{target.model}"
    reason = scrub(f"{type(exc).__name__}: {exc}", [target.secret])
    ids: dict[str, Any] = {"provider": target.provider, "model": target.model}
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return _timeout(target, "connect", timeouts)
    if isinstance(exc, httpx.TimeoutException):
        return _timeout(target, deadlines.phase, timeouts)
    if isinstance(exc, httpx.ConnectError):
        return ProviderConnectionError(f"{who}: cannot connect ({reason})", **ids)
    if isinstance(exc, httpx.DecodingError):
        return BadProviderResponse(f"{who}: undecodable body ({reason})", **ids)
    if streaming:
        return StreamInterrupted(f"{who}: stream broke before its end ({reason})", **ids)
    return ProviderConnectionError(f"{who}: connection failed ({reason})", **ids)


async def _open(
    client: httpx.AsyncClient, target: CallTarget, payload: dict[str, Any], timeouts: CallTimeouts,
    deadlines: _Deadlines,
) -> httpx.Response:
    request = client.build_request(
        "POST",
        target.url,
        content=orjson.dumps(payload),
        headers={"content-type": "application/json", **target.headers},
        timeout=_httpx_timeout(timeouts),
    )
    async with asyncio.timeout_at(deadlines.current_at):
        return await client.send(request, stream=True)


async def _fail_on_error_status(
    response: httpx.Response, target: CallTarget, deadlines: _Deadlines
) -> None:
    if response.is_success:
        return
    deadlines.first_byte_seen()  # the headers of an error answer are its first byte
    async with asyncio.timeout_at(deadlines.total_at):
        body = await response.aread()
    error = error_from_response(
        response.status_code,
        response.headers,
        body,
        provider=target.provider,
        model=target.model,
        now=target.wall_clock(),
        secrets=[target.secret],
    )
    error.rate_limits = rate_limit_headers(response.headers)
    raise error


async def post_json(
    client: httpx.AsyncClient, target: CallTarget, payload: dict[str, Any], timeouts: CallTimeouts,
    on_rate_limits: OnRateLimits | None = None,
) -> dict[str, Any]:
    """POST ``payload``; the decoded JSON object of a 2xx answer, or a ProviderError.

    ``on_rate_limits`` gets a 2xx answer's rate-limit headers (an error carries
    its own in ``ProviderError.rate_limits``).
    """
    deadlines = _Deadlines(timeouts)
    try:
        response = await _open(client, target, payload, timeouts, deadlines)
        try:
            deadlines.first_byte_seen()
            await _fail_on_error_status(response, target, deadlines)
            if on_rate_limits is not None:
                on_rate_limits(rate_limit_headers(response.headers))
            async with asyncio.timeout_at(deadlines.total_at):
                body = await response.aread()
        finally:
            await response.aclose()
    except TimeoutError as exc:
        raise _timeout(target, deadlines.phase, timeouts) from exc
    except httpx.HTTPError as exc:
        raise _transport_failure(exc, target, deadlines, timeouts, streaming=False) from exc
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadProviderResponse(
            f"{target.provider}:{target.model} answered {response.status_code} with a body "
            f"that is not JSON ({len(body)} bytes)",
            provider=target.provider,
            model=target.model,
            status=response.status_code,
        ) from exc
    if not isinstance(decoded, dict):
        raise BadProviderResponse(
            f"{target.provider}:{target.model} answered JSON that is not an object",
            provider=target.provider,
            model=target.model,
            status=response.status_code,
        )
    return decoded


async def post_sse(
    client: httpx.AsyncClient, target: CallTarget, payload: dict[str, Any], timeouts: CallTimeouts,
    on_rate_limits: OnRateLimits | None = None,
) -> AsyncIterator[SseEvent]:
    """POST ``payload`` and yield the answer's server-sent events as they arrive.

    Ends quietly when the body ends; deciding whether the stream was complete is the
    caller's job (only it knows the wire's terminal event). ``on_rate_limits`` as
    for :func:`post_json`, before the first event.
    """
    deadlines = _Deadlines(timeouts)
    decoder = SseDecoder()
    streaming = False
    try:
        response = await _open(client, target, payload, timeouts, deadlines)
        try:
            await _fail_on_error_status(response, target, deadlines)
            if on_rate_limits is not None:
                on_rate_limits(rate_limit_headers(response.headers))
            streaming = True
            lines = response.aiter_lines()
            while True:
                async with asyncio.timeout_at(deadlines.current_at):
                    line = await anext(lines, None)
                if line is None:
                    break
                deadlines.first_byte_seen()
                if (event := decoder.feed_line(line)) is not None:
                    yield event
            if (event := decoder.flush()) is not None:
                yield event
        finally:
            await response.aclose()
    except TimeoutError as exc:
        raise _timeout(target, deadlines.phase, timeouts) from exc
    except httpx.HTTPError as exc:
        raise _transport_failure(exc, target, deadlines, timeouts, streaming=streaming) from exc
