"""OpenAI and OpenAI-compatible providers: the I/O shell around :mod:`openai_wire`."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator, Callable

import httpx

from tokenyard.providers.base import CallTimeouts, Completion, Delta
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.http_call import CallTarget, post_json, post_sse
from tokenyard.providers.openai_wire import MaxTokensField, StreamAssembler, from_payload, to_payload
from tokenyard.schemas.records import Request

Clock = Callable[[], float]


class OpenAICompatibleProvider:
    """Any server speaking OpenAI's ``/chat/completions`` (vLLM, Ollama, Groq, ...)."""

    max_tokens_field: MaxTokensField = "max_tokens"

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
        self._url = f"{cfg.effective_base_url}/chat/completions"
        headers = dict(cfg.headers)
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self._headers = headers
        self._secret = api_key
        self._clock = clock
        self._wall_clock = wall_clock

    def __repr__(self) -> str:  # the key lives in the headers; never show them
        return f"{type(self).__name__}(name={self.name!r}, url={self._url!r})"

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
        payload = to_payload(request, model, max_tokens_field=self.max_tokens_field)
        body = await post_json(self._client, self._target(model), payload, timeouts)
        completion = from_payload(body, self.name, model)
        return dataclasses.replace(completion, latency_ms=(self._clock() - started) * 1000.0)

    async def stream(
        self, request: Request, model: str, timeouts: CallTimeouts
    ) -> AsyncIterator[Delta | Completion]:
        started = self._clock()
        ttft: float | None = None
        payload = to_payload(request, model, stream=True, max_tokens_field=self.max_tokens_field)
        assembler = StreamAssembler(self.name, model, now=self._wall_clock())
        events = post_sse(self._client, self._target(model), payload, timeouts)
        try:
            async for event in events:
                delta = assembler.feed(event.data)
                if delta is not None:
                    if ttft is None:
                        ttft = (self._clock() - started) * 1000.0
                    yield delta
        finally:
            await events.aclose()
        completion = assembler.finish()
        yield dataclasses.replace(
            completion, latency_ms=(self._clock() - started) * 1000.0, ttft_ms=ttft
        )


class OpenAIProvider(OpenAICompatibleProvider):
    """api.openai.com: same wire; its reasoning models take only ``max_completion_tokens``."""

    max_tokens_field: MaxTokensField = "max_completion_tokens"
