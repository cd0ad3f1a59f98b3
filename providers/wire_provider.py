"""The I/O shell every HTTP provider shares: build payload, call, parse, time it.

A vendor subclass supplies only its URL path, auth headers and pure transforms; the
shell adds latency and time-to-first-token from the injected clock.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import httpx

from tokenyard.providers.base import CallTimeouts, Completion, Delta
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.http_call import CallTarget, post_json, post_sse
from tokenyard.providers.sse import SseEvent
from tokenyard.schemas.records import Request

Clock = Callable[[], float]


class StreamAssembler(Protocol):
    def feed_event(self, event: SseEvent) -> Delta | None: ...

    def finish(self) -> Completion: ...


class WireProvider:
    path: str = ""

    def __init__(
        self,
        name: str,
        cfg: ProviderConfig,
        client: httpx.AsyncClient,
        api_key: str | None,
        *,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ):
        self.name = name
        self.config = cfg
        self._client = client
        self._url = f"{cfg.effective_base_url}{self.path}"
        self._headers = {**cfg.headers, **self.auth_headers(api_key)}
        self._secret = api_key
        self._clock = clock
        self._wall_clock = wall_clock

    def __repr__(self) -> str:  # the key lives in the headers; never show them
        return f"{type(self).__name__}(name={self.name!r}, url={self._url!r})"

    # -- what a vendor supplies --------------------------------------------------------

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        raise NotImplementedError

    def payload(self, request: Request, model: str, *, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def parse(self, body: dict[str, Any], model: str) -> Completion:
        raise NotImplementedError

    def assembler(self, model: str) -> StreamAssembler:
        raise NotImplementedError

    # -- the Provider protocol ---------------------------------------------------------

    def _target(self, model: str) -> CallTarget:
        return CallTarget(
            provider=self.name,
            model=model,
            url=self._url,
            headers=self._headers,
            secret=self._secret,
            wall_clock=self._wall_clock,
        )

    async def complete(self, request: Request, model: str, timeouts: CallTimeouts) -> Completion:
        started = self._clock()
        payload = self.payload(request, model, stream=False)
        limits: dict[str, str] = {}
        body = await post_json(self._client, self._target(model), payload, timeouts, limits.update)
        completion = self.parse(body, model)
        return dataclasses.replace(completion, latency_ms=(self._clock() - started) * 1000.0, rate_limits=limits)

    async def stream(
        self, request: Request, model: str, timeouts: CallTimeouts
    ) -> AsyncIterator[Delta | Completion]:
        started = self._clock()
        ttft: float | None = None
        payload = self.payload(request, model, stream=True)
        assembler = self.assembler(model)
        limits: dict[str, str] = {}
        events = post_sse(self._client, self._target(model), payload, timeouts, limits.update)
        try:
            async for event in events:
                delta = assembler.feed_event(event)
                if delta is not None:
                    if ttft is None:
                        ttft = (self._clock() - started) * 1000.0
                    yield delta
        finally:
            await events.aclose()
        completion = assembler.finish()
        yield dataclasses.replace(
            completion, latency_ms=(self._clock() - started) * 1000.0, ttft_ms=ttft, rate_limits=limits
        )
