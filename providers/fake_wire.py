"""The fake provider's answers in OpenAI's and Anthropic's real wire formats.

Pure builders of bodies and SSE events; the shapes match the vendors' documented
responses (and the golden files in ``tests/golden/providers``).
"""

from __future__ import annotations

from typing import Any

import orjson

from tokenyard.providers.fake_behaviour import Answer, split_for_stream

CREATED = 1_700_000_000  # fixed, so answers are byte-for-byte deterministic

_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens"}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    500: "api_error", 529: "overloaded_error",
}


def sse(data: dict[str, Any] | str, event: str | None = None) -> bytes:
    payload = data if isinstance(data, str) else orjson.dumps(data).decode()
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


# -- OpenAI -------------------------------------------------------------------------


def openai_usage(answer: Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": answer.cached_input_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": answer.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def openai_completion(answer: Answer, model: str, call_id: str, *, usage: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": call_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.content, "refusal": None},
                "logprobs": None,
                "finish_reason": answer.finish_reason,
            }
        ],
        "system_fingerprint": None,
    }
    if usage:
        body["usage"] = openai_usage(answer)
    return body


def openai_events(answer: Answer, model: str, call_id: str, *, include_usage: bool) -> list[bytes]:
    """Every SSE event of a streamed answer, ``data: [DONE]`` last."""

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": call_id,
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if include_usage:
            body["usage"] = None
        return body

    events = [sse(chunk({"role": "assistant", "content": "", "refusal": None}, None))]
    events += [sse(chunk({"content": piece}, None)) for piece in split_for_stream(answer.content)]
    events.append(sse(chunk({}, answer.finish_reason)))
    if include_usage:
        usage_chunk = chunk({}, None)
        usage_chunk["choices"] = []
        usage_chunk["usage"] = openai_usage(answer)
        events.append(sse(usage_chunk))
    events.append(sse("[DONE]"))
    return events


def openai_error(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    kind = {429: "requests", 401: "invalid_request_error"}.get(
        status, "server_error" if status >= 500 else "invalid_request_error"
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


# -- Anthropic ----------------------------------------------------------------------


def anthropic_usage(answer: Answer) -> dict[str, Any]:
    # Anthropic counts cache reads apart from input_tokens; OpenAI counts them inside.
    return {
        "input_tokens": answer.input_tokens - answer.cached_input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": answer.cached_input_tokens,
        "output_tokens": answer.output_tokens,
    }


def anthropic_message(answer: Answer, model: str, call_id: str, *, usage: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": call_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": answer.content}],
        "stop_reason": _ANTHROPIC_STOP[answer.finish_reason],
        "stop_sequence": None,
    }
    if usage:
        body["usage"] = anthropic_usage(answer)
    return body


def anthropic_events(answer: Answer, model: str, call_id: str, *, usage: bool = True) -> list[bytes]:
    """message_start, ping, content block events, message_delta, message_stop."""
    start = anthropic_message(answer, model, call_id, usage=usage)
    start.update(content=[], stop_reason=None)
    if usage:
        start["usage"] = {**anthropic_usage(answer), "output_tokens": 1}
    events = [
        sse({"type": "message_start", "message": start}, "message_start"),
        sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start"),
        sse({"type": "ping"}, "ping"),
    ]
    events += [
        sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            "content_block_delta")
        for piece in split_for_stream(answer.content)
    ]
    events.append(sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": _ANTHROPIC_STOP[answer.finish_reason], "stop_sequence": None},
    }
    if usage:
        delta["usage"] = {"output_tokens": answer.output_tokens}
    events.append(sse(delta, "message_delta"))
    events.append(sse({"type": "message_stop"}, "message_stop"))
    return events


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}
