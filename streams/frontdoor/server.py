"""Running the front door: one shared TokenyardClient behind an aiohttp server.

    async with running_frontdoor(settings, frontdoor_settings, keyring) as url:
        ...  # http://127.0.0.1:8080

:func:`serve_forever` is what ``tokenyard serve`` runs until SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from tokenyard.streams.client import TokenyardClient
from tokenyard.streams.frontdoor.app import FrontDoor
from tokenyard.streams.frontdoor.keys import KeyRing
from tokenyard.streams.frontdoor.settings import FrontDoorSettings
from tokenyard.streams.metrics import Metrics


@contextlib.asynccontextmanager
async def running_frontdoor(
    settings: Any, frontdoor: FrontDoorSettings, keyring: KeyRing, *, metrics: Metrics | None = None
) -> AsyncIterator[str]:
    """Start the shared client and the HTTP server; yield the base URL.

    A broker that cannot be reached at start raises aiokafka's ``KafkaError``
    (the CLI reports it); later outages answer 503 per request.
    """
    client = TokenyardClient.from_settings(settings)
    try:
        await client.start()
        door = FrontDoor(client, keyring, list(settings.routes), settings=frontdoor, metrics=metrics)
        runner = web.AppRunner(door.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, frontdoor.host, frontdoor.port)
        await site.start()
        try:
            yield f"http://{frontdoor.host}:{frontdoor.port}"
        finally:
            await runner.cleanup()
    finally:
        await client.close()


async def serve_forever(
    settings: Any, frontdoor: FrontDoorSettings, keyring: KeyRing, *, on_ready: Callable[[str], None]
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_frontdoor(settings, frontdoor, keyring) as url:
        on_ready(url)
        await stop.wait()
