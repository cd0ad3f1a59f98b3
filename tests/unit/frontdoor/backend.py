"""A scripted stand-in for TokenyardClient: what the front door's app calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from tokenyard.schemas.records import Chunk, Reply, Usage

Script = Callable[[str], list[Chunk | Reply | BaseException]]


def ok_reply(request_id: str, content: str = "Hello there", **changes: Any) -> Reply:
    fields: dict[str, Any] = dict(
        request_id=request_id, tenant="acme", status="ok", model="default", provider="fake",
        provider_model="echo", content=content, finish_reason="stop", created_ms=1_700_000_000_000,
        usage=Usage(input_tokens=5, output_tokens=2),
    )
    fields.update(changes)
    return Reply(**fields)


def error_reply(request_id: str, code: str, retry_after_s: float | None = None) -> Reply:
    return Reply.model_validate({
        "request_id": request_id, "status": "error", "created_ms": 1,
        "error": {"code": code, "message": f"it failed: {code}", "retriable": True, "retry_after_s": retry_after_s},
    })


def chunks(request_id: str, *deltas: str) -> list[Chunk]:
    return [Chunk(request_id=request_id, seq=i, delta=d) for i, d in enumerate(deltas)]


class FakeBackend:
    """Answers every call from ``script(request_id)``: items to yield (or raise)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.calls: list[dict[str, Any]] = []
        self.gate: asyncio.Event | None = None  # when set, calls wait for it
        self.entered = asyncio.Event()
        self.closed_streams = 0

    async def complete(self, messages: Any, *, timeout: float, raise_on_error: bool = True, **kwargs: Any) -> Reply:
        assert raise_on_error is False, "the front door maps error replies itself"
        self.calls.append({"messages": messages, "timeout": timeout, "stream": False, **kwargs})
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        items = self.script(kwargs["request_id"])
        for item in items:
            if isinstance(item, BaseException):
                raise item
        final = items[-1]
        assert isinstance(final, Reply)
        return final

    async def stream(self, messages: Any, *, timeout: float, **kwargs: Any) -> AsyncIterator[Chunk | Reply]:
        self.calls.append({"messages": messages, "timeout": timeout, "stream": True, **kwargs})
        try:
            for item in self.script(kwargs["request_id"]):
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.closed_streams += 1
