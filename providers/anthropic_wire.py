"""Anthropic Messages wire format (``/v1/messages``), both directions, as pure transforms.

Usage is converted to OpenAI's accounting, which the rest of tokenyard uses:
Anthropic's ``input_tokens`` excludes cache reads and cache writes, so
``Usage.input_tokens = input_tokens + cache_read_input_tokens +
cache_creation_input_tokens`` and ``Usage.cached_input_tokens =
cache_read_input_tokens``. Anthropic reports no separate reasoning count (thinking is
inside ``output_tokens``), so ``reasoning_tokens`` stays 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from tokenyard.errors import BadProviderResponse, ContentFiltered, ProviderBadRequest, StreamInterrupted
from tokenyard.providers.base import Completion, Delta
from tokenyard.providers.http_failures import error_from_response
from tokenyard.providers.sse import SseEvent
from tokenyard.schemas.records import Request, Role, Usage

API_VERSION = "2023-06-01"
# Anthropic's stop reasons in OpenAI's vocabulary, so finish_reason means one thing.
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "pause_turn": "pause_turn",
}
# For error events inside a 200 stream, which carry a type but no status.
_STATUS_OF_ERROR_TYPE = {
    "overloaded_error": 529, "api_error": 500, "rate_limit_error": 429,
    "authentication_error": 401, "permission_error": 403, "not_found_error": 404,
    "request_too_large": 413, "invalid_request_error": 400,
}


def _refuse(provider: str, model: str, why: str) -> ProviderBadRequest:
    return ProviderBadRequest(f"{provider}:{model} cannot take this request: {why}", provider=provider, model=model)


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI function tool in Anthropic's shape (Anthropic-shaped tools pass through)."""
    function = tool.get("function")
    if tool.get("type") != "function" or not isinstance(function, dict):
        return tool
    converted = {"name": function.get("name"), "input_schema": function.get("parameters") or {"type": "object"}}
    if function.get("description"):
        converted["description"] = function["description"]
    return converted


def to_payload(
    request: Request,
    model: str,
    *,
    default_max_tokens: int,
    stream: bool = False,
    provider: str = "anthropic",
) -> dict[str, Any]:
    """The ``/v1/messages`` body. ``max_tokens`` is required by Anthropic, hence the default.

    ``seed`` and the penalties have no Anthropic equivalent and are not sent; a
    temperature above 1 or JSON mode cannot be served and raise ProviderBadRequest
    (routing should have skipped this model by its capabilities).
    """
    params = request.params
    if params.temperature is not None and params.temperature > 1.0:
        raise _refuse(provider, model, f"temperature {params.temperature} is above Anthropic's maximum of 1")
    if params.response_format == "json_object":
        raise _refuse(provider, model, "JSON mode (response_format json_object) is not supported")
    system = "\n\n".join(m.content for m in request.messages if m.role is Role.system)
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role is Role.system:
            continue
        if message.role is Role.tool:
            block = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": message.content}
            messages.append({"role": "user", "content": [block]})
        else:
            messages.append({"role": message.role.value, "content": message.content})
    payload: dict[str, Any] = {
        "model": model,
        "max_tokens": params.max_tokens or default_max_tokens,
        "messages": messages,
    }
    if system:
        payload["system"] = system
    if params.temperature is not None:
        payload["temperature"] = params.temperature
    if params.top_p is not None:
        payload["top_p"] = params.top_p
    if params.stop:
        payload["stop_sequences"] = params.stop
    if request.tools:
        payload["tools"] = [_tool(t) for t in request.tools]
    if stream:
        payload["stream"] = True
    return payload


def usage_from_wire(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    cache_read = _count(usage.get("cache_read_input_tokens"))
    cache_write = _count(usage.get("cache_creation_input_tokens"))
    return Usage(
        input_tokens=_count(usage.get("input_tokens")) + cache_read + cache_write,
        output_tokens=_count(usage.get("output_tokens")),
        cached_input_tokens=cache_read,
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _finish_reason(stop_reason: Any, provider: str, model: str) -> str:
    if stop_reason == "refusal":
        raise ContentFiltered(f"{provider}:{model} refused to answer (stop_reason refusal)", provider=provider, model=model)
    if not isinstance(stop_reason, str):
        return "unknown"
    return FINISH_REASONS.get(stop_reason, stop_reason)


def _bad(provider: str, model: str, what: str) -> BadProviderResponse:
    return BadProviderResponse(f"{provider}:{model} answered a body tokenyard cannot read: {what}", provider=provider, model=model)


def _text(blocks: Any) -> str:
    return "".join(b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str))


def from_payload(body: dict[str, Any], provider: str, model: str) -> Completion:
    """A ``message`` object -> Completion (latency is the shell's to fill)."""
    if body.get("type") == "error":
        raise _error_event(body, provider, model)
    content = body.get("content")
    if body.get("type") != "message" or not isinstance(content, list):
        raise _bad(provider, model, "not a message with a content list")
    usage = usage_from_wire(body.get("usage"))
    return Completion(
        content=_text(content),
        finish_reason=_finish_reason(body.get("stop_reason"), provider, model),
        usage=usage or Usage(),
        provider=provider,
        model=model,
        raw_id=body.get("id") if isinstance(body.get("id"), str) else None,
        usage_missing=usage is None,
    )


def _error_event(event: dict[str, Any], provider: str, model: str, now: float = 0.0) -> Exception:
    error = event.get("error") if isinstance(event.get("error"), dict) else {}
    status = _STATUS_OF_ERROR_TYPE.get(error.get("type", ""), 500)
    return error_from_response(status, {}, orjson.dumps(event), provider=provider, model=model, now=now)


@dataclass
class StreamAssembler:
    """Folds Anthropic's stream events into deltas and one final Completion.

    Complete only after ``message_stop``. An ``error`` event raises the error it
    names (e.g. ``overloaded_error`` -> ProviderOverloaded); unknown event types are
    ignored, as Anthropic's versioning policy asks.
    """

    provider: str
    model: str
    now: float = 0.0
    parts: list[str] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    stop_reason: Any = None
    raw_id: str | None = None
    done: bool = False
    events: int = 0

    def feed_event(self, event: SseEvent) -> Delta | None:
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError as exc:
            raise _bad(self.provider, self.model, f"stream event {self.events} is not JSON") from exc
        if not isinstance(data, dict):
            raise _bad(self.provider, self.model, f"stream event {self.events} is not an object")
        self.events += 1
        kind = data.get("type", event.event)
        if kind == "error":
            raise _error_event(data, self.provider, self.model, self.now)
        if kind == "message_start":
            message = data.get("message") or {}
            self.raw_id = message.get("id")
            if isinstance(message.get("usage"), dict):
                self.usage = dict(message["usage"])
        elif kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str) and delta["text"]:
                self.parts.append(delta["text"])
                return Delta(text=delta["text"])
        elif kind == "message_delta":
            self.stop_reason = (data.get("delta") or {}).get("stop_reason")
            if self.stop_reason == "refusal":
                _finish_reason(self.stop_reason, self.provider, self.model)
            if isinstance(data.get("usage"), dict) and self.usage is not None:
                # message_delta's counts are cumulative and override message_start's.
                self.usage.update({k: v for k, v in data["usage"].items() if v is not None})
        elif kind == "message_stop":
            self.done = True
        return None

    def finish(self) -> Completion:
        if not self.done:
            raise StreamInterrupted(
                f"{self.provider}:{self.model} stream ended after {self.events} events without message_stop",
                provider=self.provider,
                model=self.model,
                chunks=self.events,
            )
        usage = usage_from_wire(self.usage)
        return Completion(
            content="".join(self.parts),
            finish_reason=_finish_reason(self.stop_reason, self.provider, self.model),
            usage=usage or Usage(),
            provider=self.provider,
            model=self.model,
            raw_id=self.raw_id,
            usage_missing=usage is None,
        )
