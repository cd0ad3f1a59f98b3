"""Requests waiting for capacity, off the main request path.

A request that admission defers for longer than a moment is re-published to the
``deferred`` topic (co-partitioned with requests: same partition number, so the
same worker owns it) with a ``not-before-ms`` header. This agent, with slots of
its own, waits until then and hands the request back to the gateway. Waiting in
the main agent instead would hold slots that other tenants' requests need.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tokenyard.agents.gateway import Gateway
from tokenyard.schemas.codec import dumps
from tokenyard.schemas.records import Request

NOT_BEFORE_HEADER = "not-before-ms"

# (topic, key, value, partition, headers) -> awaitable acknowledged by the broker
SendToPartition = Callable[[str, bytes, bytes, int, list[tuple[str, bytes]]], Awaitable[Any]]


def deferrer(send: SendToPartition, topic: str) -> Callable[[Request, int, float], Awaitable[None]]:
    async def defer(request: Request, partition: int, not_before: float) -> None:
        header = (NOT_BEFORE_HEADER, str(int(not_before * 1000)).encode())
        await send(topic, request.tenant.encode(), dumps(request), partition, [header])

    return defer


def not_before_of(headers: Any) -> float:
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    for name, value in items:
        if name == NOT_BEFORE_HEADER:
            return int(value) / 1000.0
    return 0.0


def register(app: Any, gateway: Gateway, deferred_topic: Any, *, concurrency: int,
             clock: Callable[[], float] = time.time) -> Any:
    async def deferred_agent(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            wait = not_before_of(message.headers) - clock()
            if wait > 0:
                await asyncio.sleep(wait)
            await gateway.handle(message.value, message.key, partition=message.partition, offset=message.offset)

    return app.agent(deferred_topic, name="tokenyard.deferred", concurrency=concurrency)(deferred_agent)
