"""tokenyard replies and chunks -> OpenAI ``chat.completion`` bodies and SSE chunks.

Pure builders. Shapes follow OpenAI's chat object and chunk object (a unit test
compares their keys with the real-wire goldens in ``tests/golden/providers/openai``).
``model`` is the route the caller named: that is the model it knows about; the
provider and provider model travel in ``x-tokenyard-*`` response headers.
"""

from __future__ import annotations

from typing import Any

import orjson

from tokenyard.schemas.records import Reply, Usage

# OpenAI's vocabulary; providers are normalised to it, anything else reads as "stop".
_FINISH_REASONS = frozenset({"stop", "length", "content_filter", "tool_calls", "function_call"})

DONE = b"data: [DONE]\n\n"


def completion_id(request_id: str) -> str:
    return f"chatcmpl-{request_id}"


def finish_reason(reply: Reply) -> str:
    return reply.finish_reason if reply.finish_reason in _FINISH_REASONS else "stop"


def usage_body(usage: Usage | None) -> dict[str, Any]:
    usage = usage or Usage()
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def completion_body(reply: Reply, route: str) -> dict[str, Any]:
    return {
        "id": completion_id(reply.request_id),
        "object": "chat.completion",
        "created": reply.created_ms // 1000,
        "model": route,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content or "", "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason(reply),
            }
        ],
        "usage": usage_body(reply.usage),
        "service_tier": "default",
        "system_fingerprint": None,
    }


def reply_headers(reply: Reply) -> dict[str, str]:
    """What tokenyard knows beyond the OpenAI body, for callers that want it."""
    headers = {"x-request-id": reply.request_id, "x-tokenyard-cached": str(reply.cached).lower()}
    if reply.provider:
        headers["x-tokenyard-provider"] = reply.provider
    if reply.provider_model:
        headers["x-tokenyard-provider-model"] = reply.provider_model
    if reply.cost_usd is not None and not reply.cost_unknown:
        headers["x-tokenyard-cost-usd"] = str(reply.cost_usd)
    return headers


class ChunkWriter:
    """The ``chat.completion.chunk`` objects of one streamed answer, as SSE bytes."""

    def __init__(self, request_id: str, route: str, created: int, *, include_usage: bool) -> None:
        self.id = completion_id(request_id)
        self.route = route
        self.created = created
        self.include_usage = include_usage

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.route,
            "system_fingerprint": None,
            "choices": choices,
        }
        if self.include_usage:
            body["usage"] = usage  # null on every chunk but the last, as OpenAI sends it
        return sse(body)

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    def role(self) -> bytes:
        return self._chunk(self._choice({"role": "assistant", "content": "", "refusal": None}))

    def content(self, text: str) -> bytes:
        return self._chunk(self._choice({"content": text}))

    def finish(self, reply: Reply) -> bytes:
        """The closing chunk(s) and ``[DONE]``: finish_reason, then usage when asked for."""
        out = self._chunk(self._choice({}, finish_reason(reply)))
        if self.include_usage:
            out += self._chunk([], usage_body(reply.usage))
        return out + DONE


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"
