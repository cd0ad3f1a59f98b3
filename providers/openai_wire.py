"""OpenAI chat-completions wire format, both directions, as pure transforms.

Shared by OpenAI itself and every OpenAI-compatible server. Usage follows OpenAI's
accounting, which the rest of tokenyard uses too: ``input_tokens`` counts the whole
prompt *including* ``cached_input_tokens``, and ``output_tokens`` counts the whole
completion *including* ``reasoning_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from tokenyard.errors import BadProviderResponse, ContentFiltered, StreamInterrupted
from tokenyard.providers.base import Completion, Delta
from tokenyard.providers.http_failures import error_from_response
from tokenyard.providers.sse import SseEvent
from tokenyard.schemas.records import Request, Usage

MaxTokensField = Literal["max_tokens", "max_completion_tokens"]
_OPTIONAL_PARAMS = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty")


def to_payload(
    request: Request,
    model: str,
    *,
    stream: bool = False,
    max_tokens_field: MaxTokensField = "max_tokens",
) -> dict[str, Any]:
    """The ``/chat/completions`` body for ``request`` sent to ``model``.

    OpenAI's reasoning models refuse ``max_tokens`` and want ``max_completion_tokens``;
    many compatible servers know only ``max_tokens``. The provider picks.
    """
    messages = []
    for message in request.messages:
        wire: dict[str, Any] = {"role": message.role.value, "content": message.content}
        if message.name is not None:
            wire["name"] = message.name
        if message.tool_call_id is not None:
            wire["tool_call_id"] = message.tool_call_id
        messages.append(wire)
    payload: dict[str, Any] = {"model": model, "messages": messages}
    params = request.params
    for name in _OPTIONAL_PARAMS:
        value = getattr(params, name)
        if value is not None:
            payload[name] = value
    if params.max_tokens is not None:
        payload[max_tokens_field] = params.max_tokens
    if params.response_format is not None:
        payload["response_format"] = {"type": params.response_format}
    if request.tools:
        payload["tools"] = request.tools
    if stream:
        payload["stream"] = True
        # Without this OpenAI streams no usage at all, and the cost would be unknown.
        payload["stream_options"] = {"include_usage": True}
    return payload


def usage_from_wire(usage: Any) -> Usage | None:
    """``usage`` object -> Usage; None when the provider sent none."""
    if not isinstance(usage, dict):
        return None
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=_count(usage.get("prompt_tokens")),
        output_tokens=_count(usage.get("completion_tokens")),
        cached_input_tokens=_count(prompt_details.get("cached_tokens")),
        reasoning_tokens=_count(completion_details.get("reasoning_tokens")),
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _bad(provider: str, model: str, what: str) -> BadProviderResponse:
    return BadProviderResponse(
        f"{provider}:{model} answered a body tokenyard cannot read: {what}",
        provider=provider,
        model=model,
    )


def _filtered(provider: str, model: str, said: str) -> ContentFiltered:
    return ContentFiltered(
        f"{provider}:{model} withheld the answer ({said})", provider=provider, model=model
    )


def from_payload(body: dict[str, Any], provider: str, model: str) -> Completion:
    """A ``chat.completion`` object -> Completion (latency is the shell's to fill)."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _bad(provider, model, "no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise _bad(provider, model, "choices[0].message is missing")
    content = message.get("content")
    finish_reason = choices[0].get("finish_reason") or "unknown"
    if finish_reason == "content_filter":
        raise _filtered(provider, model, "finish_reason content_filter")
    if content is None and isinstance(message.get("refusal"), str):
        raise _filtered(provider, model, f"refusal: {message['refusal'][:200]}")
    if content is not None and not isinstance(content, str):
        raise _bad(provider, model, "choices[0].message.content is not text")
    usage = usage_from_wire(body.get("usage"))
    return Completion(
        content=content or "",
        finish_reason=finish_reason,
        usage=usage or Usage(),
        provider=provider,
        model=model,
        raw_id=body.get("id") if isinstance(body.get("id"), str) else None,
        usage_missing=usage is None,
    )


@dataclass
class StreamAssembler:
    """Folds ``chat.completion.chunk`` events into deltas and one final Completion.

    A stream is complete when ``data: [DONE]`` arrived, or when the body ended after
    a chunk carrying ``finish_reason`` (servers that skip ``[DONE]``). Anything else
    is a cut stream, never a success.
    """

    provider: str
    model: str
    now: float = 0.0
    parts: list[str] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage | None = None
    raw_id: str | None = None
    done: bool = False
    chunks: int = 0

    def feed_event(self, event: SseEvent) -> Delta | None:
        # OpenAI streams only unnamed events; the payload is all in ``data``.
        return self.feed(event.data)

    def feed(self, data: str) -> Delta | None:
        """One SSE ``data`` field; the text it adds, if any."""
        if data.strip() == "[DONE]":
            self.done = True
            return None
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise _bad(self.provider, self.model, f"stream chunk {self.chunks} is not JSON") from exc
        if not isinstance(chunk, dict):
            raise _bad(self.provider, self.model, f"stream chunk {self.chunks} is not an object")
        self.chunks += 1
        if "error" in chunk:
            # Some servers report a failure mid-stream as a data event with a 2xx status.
            raise error_from_response(
                500, {}, data.encode(), provider=self.provider, model=self.model, now=self.now
            )
        if isinstance(chunk.get("id"), str):
            self.raw_id = chunk["id"]
        if (usage := usage_from_wire(chunk.get("usage"))) is not None:
            self.usage = usage
        choices = chunk.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return None
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
            if self.finish_reason == "content_filter":
                raise _filtered(self.provider, self.model, "finish_reason content_filter")
        text = (choice.get("delta") or {}).get("content")
        if isinstance(text, str) and text:
            self.parts.append(text)
            return Delta(text=text)
        return None

    def finish(self) -> Completion:
        """The final Completion once the body ended; StreamInterrupted if it was cut."""
        if not self.done and self.finish_reason is None:
            raise StreamInterrupted(
                f"{self.provider}:{self.model} stream ended after {self.chunks} chunks "
                "without finish_reason or [DONE]",
                provider=self.provider,
                model=self.model,
                chunks=self.chunks,
            )
        return Completion(
            content="".join(self.parts),
            finish_reason=self.finish_reason or "unknown",
            usage=self.usage or Usage(),
            provider=self.provider,
            model=self.model,
            raw_id=self.raw_id,
            usage_missing=self.usage is None,
        )
