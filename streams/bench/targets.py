"""What a benchmark call is: one request through tokenyard, or straight over HTTP.

The direct call sends the body tokenyard's provider sends for the same request,
so pipeline minus direct is what the gateway adds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from tokenyard.streams.bench.rig import TENANTS
from tokenyard.streams.client import TokenyardClient
from tokenyard.schemas.records import Chunk, Reply


class HttpStatusError(Exception):
    """A direct call answered with a status other than 200."""


# Prompts are random word sequences so that the semantic cache misses (the
# miss path is what `overhead` measures); near-identical templated prompts
# would make it find, and verify, candidates on every request.
_WORDS = (
    "amber anchor apple arch atlas badge bamboo banner barley basin beacon berry birch blade blossom bolt "
    "bramble breeze brick bridge bronze brook cabin cactus candle canyon carbon cargo cedar cellar chalk "
    "cherry chimney cider cliff clover cobalt comet copper coral cotton crane crater crystal dagger delta "
    "desert dune eagle ember engine falcon feather fern ferry fiddle flint fog forest fossil fountain "
    "garnet glacier goblet granite gravel harbor hazel heron hollow honey horizon iris island ivory jade "
    "jasmine kettle kiln lagoon lantern lava ledger lemon lily linen lotus magnet maple marble meadow "
    "mesa mint mirror moss nectar needle nickel oak oasis onyx orchard otter paddle pebble pepper pine "
    "plume pollen prairie quartz quill quiver raven reef ridge river saddle saffron sage satin shell "
    "silver slate spruce summit thistle thunder timber tundra velvet violet walnut willow zephyr"
).split()
_VERBS = ("describe", "summarise", "explain", "compare", "list", "translate", "rank", "classify")


Messages = Callable[[int], list[dict[str, str]]]


def prompt(index: int) -> list[dict[str, str]]:
    """A distinct, reproducible prompt per index."""
    rng = random.Random(index)
    words = " ".join(rng.choice(_WORDS) for _ in range(10))
    return [{"role": "user", "content": f"{rng.choice(_VERBS)} {words} ({index})"}]


def pipeline_call(
    client: TokenyardClient, *, timeout_s: float, cached: list[int] | None = None
) -> Callable[[int], Awaitable[Reply]]:
    """``cached`` (one counter) counts replies served from the cache."""

    async def call(index: int) -> Reply:
        reply = await client.complete(
            prompt(index), model="default", tenant=TENANTS[index % len(TENANTS)], timeout=timeout_s
        )
        if cached is not None and reply.cached:
            cached[0] += 1
        return reply

    return call


def openai_call(
    http: httpx.AsyncClient, base_url: str, model: str, *, timeout_s: float, api_key: str = "bench",
    messages_for: Messages = prompt,
) -> Callable[[int], Awaitable[object]]:
    """POST /chat/completions to an OpenAI-compatible ``base_url`` (the fake, or LiteLLM);
    ``messages_for(index)`` gives the conversation (distinct prompts by default)."""
    url = f"{base_url.rstrip('/')}/chat/completions"
    headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}

    async def call(index: int) -> object:
        body = orjson.dumps({"model": model, "messages": messages_for(index)})
        response = await http.post(url, content=body, headers=headers, timeout=timeout_s)
        if response.status_code != 200:
            raise HttpStatusError(f"{response.status_code}: {response.text[:200]}")
        return orjson.loads(response.content)

    return call


class AiohttpOpenAI:
    """The same POST through aiohttp: a baseline that stays flat where httpx's pool
    degrades under high concurrency, so the pipeline's share is not hidden."""

    def __init__(self, session: Any, base_url: str, model: str, *, timeout_s: float, api_key: str = "bench",
                 messages_for: Messages = prompt):
        self.session = session
        self.messages_for = messages_for
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json"}

    async def __call__(self, index: int) -> object:
        import aiohttp

        body = orjson.dumps({"model": self.model, "messages": self.messages_for(index)})
        async with self.session.post(self.url, data=body, headers=self.headers,
                                     timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
            raw = await response.read()
            if response.status != 200:
                raise HttpStatusError(f"{response.status}: {raw[:200]!r}")
            return orjson.loads(raw)


def direct_http_client(max_connections: int = 512) -> httpx.AsyncClient:
    """Pool sized like the gateway worker's, so both sides pay the same client costs."""
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=128))


# -- streaming: time to first chunk -------------------------------------------------


def pipeline_first_chunk(
    client: TokenyardClient, *, timeout_s: float, first_chunk_ms: list[float], clock: Callable[[], float] = time.perf_counter
) -> Callable[[int], Awaitable[None]]:
    """Stream one request; record when its first chunk came (from the call's start)."""

    async def call(index: int) -> None:
        started = clock()
        seen_chunk = False
        async for item in client.stream(
            prompt(index), model="default", tenant=TENANTS[index % len(TENANTS)], timeout=timeout_s
        ):
            if isinstance(item, Chunk) and not seen_chunk:
                seen_chunk = True
                first_chunk_ms.append((clock() - started) * 1000.0)
            if isinstance(item, Reply) and item.status != "ok":
                raise HttpStatusError(f"error reply {item.error.code if item.error else '?'}")

    return call


def direct_first_chunk(
    http: httpx.AsyncClient, base_url: str, model: str, *, timeout_s: float, first_chunk_ms: list[float],
    clock: Callable[[], float] = time.perf_counter,
) -> Callable[[int], Awaitable[None]]:
    """SSE straight to the fake; first chunk = the first ``data:`` line with content."""
    url = f"{base_url.rstrip('/')}/chat/completions"

    async def call(index: int) -> None:
        started = clock()
        body = orjson.dumps({"model": model, "messages": prompt(index), "stream": True})
        seen_chunk = False
        async with http.stream("POST", url, content=body, headers={"content-type": "application/json"},
                               timeout=timeout_s) as response:
            if response.status_code != 200:
                raise HttpStatusError(f"{response.status_code}")
            async for line in response.aiter_lines():
                if not seen_chunk and _has_text(line):
                    seen_chunk = True
                    first_chunk_ms.append((clock() - started) * 1000.0)

    return call


def _has_text(line: str) -> bool:
    """An OpenAI SSE line carrying non-empty text (the first event is an empty role delta)."""
    if not line.startswith("data:") or line.startswith("data: [DONE]"):
        return False
    event = orjson.loads(line[5:])
    choices = event.get("choices") or []
    return bool(choices and (choices[0].get("delta") or {}).get("content"))
