"""Client CPU per provider call: httpx on httpcore vs httpx on aiohttp (the worker's default).

    .venv/bin/python -m benchmarks.http_transport [--calls 3000] [--concurrency 4]

Starts the fake provider, sends the same chat completion through each client in
turns (two rounds, so a noisy neighbour shows as disagreement between rounds),
and prints the client process's CPU milliseconds per call and calls per second.
Raw aiohttp (without httpx on top) is the floor for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time

import aiohttp
import orjson

from tokenyard.providers.http_client import provider_http_client

PAYLOAD = orjson.dumps(
    {"model": "echo", "messages": [{"role": "user", "content": "hello there " * 20}], "max_tokens": 16}
)
HEADERS = {"content-type": "application/json"}


async def _through_httpx(transport: str, url: str, calls: int, concurrency: int) -> tuple[float, float]:
    client = provider_http_client(max_connections=concurrency * 2, transport=transport)  # type: ignore[arg-type]

    async def one() -> None:
        response = await client.send(client.build_request("POST", url, content=PAYLOAD, headers=HEADERS), stream=True)
        try:
            if response.status_code != 200:
                raise RuntimeError(f"fake answered {response.status_code}")
            orjson.loads(await response.aread())
        finally:
            await response.aclose()

    try:
        return await _measure(one, calls, concurrency)
    finally:
        await client.aclose()


async def _through_aiohttp(url: str, calls: int, concurrency: int) -> tuple[float, float]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency * 2)) as session:

        async def one() -> None:
            async with session.post(url, data=PAYLOAD, headers=HEADERS) as response:
                if response.status != 200:
                    raise RuntimeError(f"fake answered {response.status}")
                orjson.loads(await response.read())

        return await _measure(one, calls, concurrency)


async def _measure(one, calls: int, concurrency: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    gate = asyncio.Semaphore(concurrency)

    async def gated() -> None:
        async with gate:
            await one()

    await asyncio.gather(*(gated() for _ in range(200)))  # warm the pool
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(gated() for _ in range(calls)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return cpu / calls * 1000.0, calls / wall


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _main(calls: int, concurrency: int) -> None:
    port = _free_port()
    fake = subprocess.Popen([sys.executable, "-m", "tokenyard.providers.fake_server", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        print(f"{'round':>5}  {'client':<16} {'CPU ms/call':>11} {'calls/s':>8}")
        for round_ in (1, 2):
            for name in ("httpx/httpcore", "httpx/aiohttp", "aiohttp (floor)"):
                if name == "aiohttp (floor)":
                    cpu_ms, rate = await _through_aiohttp(url, calls, concurrency)
                else:
                    cpu_ms, rate = await _through_httpx(name.split("/")[1], url, calls, concurrency)
                print(f"{round_:>5}  {name:<16} {cpu_ms:>11.3f} {rate:>8.0f}")
    finally:
        fake.terminate()
        fake.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(_main(args.calls, args.concurrency))


if __name__ == "__main__":
    main()
