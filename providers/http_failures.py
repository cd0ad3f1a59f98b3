"""A provider's HTTP error answer, translated into :mod:`tokenyard.errors`.

Pure: status, headers and body in, one :class:`ProviderError` out. Covers the error
bodies of OpenAI (``{"error": {"type", "code", "message"}}``), Anthropic
(``{"type": "error", "error": {"type", "message"}}``) and the OpenAI-compatible
servers that answer in their own shapes (vLLM ``{"object": "error", ...}``, Ollama
``{"error": "text"}``, FastAPI ``{"detail": ...}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from tokenyard.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
)

MAX_MESSAGE_CHARS = 500

# Wording seen for "prompt too long" across OpenAI, Anthropic, vLLM, llama.cpp,
# Ollama, Groq and Mistral; codes when they send one, messages when they do not.
_CONTEXT_CODES = frozenset(
    {"context_length_exceeded", "exceed_context_size_error", "context_window_exceeded"}
)
_CONTEXT_WORDING = re.compile(
    r"context[ _]length|maximum context|context window|context size|context limit"
    r"|prompt is too long|too many tokens|reduce the length of the messages",
    re.IGNORECASE,
)
_FILTER_CODES = frozenset({"content_filter", "content_policy_violation"})
_FILTER_WORDING = re.compile(r"content management policy|content[ _]filter", re.IGNORECASE)
_OVERLOADED_TYPES = frozenset({"overloaded_error"})
# OpenAI's 429 body: "Please try again in 20s." / "... in 1.5s" / "... in 250ms".
_BODY_RETRY_AFTER = re.compile(r"try again in (\d+(?:\.\d+)?)\s*(ms|s)\b", re.IGNORECASE)


@dataclass(frozen=True)
class ErrorBody:
    """What a provider said about its failure, whatever the shape."""

    type: str = ""
    code: str = ""
    message: str = ""


def read_error_body(body: bytes) -> ErrorBody:
    if not body.strip():
        return ErrorBody()
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ErrorBody(message=body[:MAX_MESSAGE_CHARS].decode("utf-8", "replace").strip())
    if not isinstance(parsed, dict):
        return ErrorBody(message=str(parsed)[:MAX_MESSAGE_CHARS])
    error: Any = parsed.get("error", parsed)
    if isinstance(error, str):
        return ErrorBody(message=error)
    if not isinstance(error, dict):
        return ErrorBody(message=str(parsed.get("detail", ""))[:MAX_MESSAGE_CHARS])
    message = error.get("message", error.get("detail", ""))
    return ErrorBody(
        type=_text(error.get("type")),
        code=_text(error.get("code")),
        message=_text(message),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def parse_retry_after(headers: Mapping[str, str], message: str, now: float) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, ``Retry-After`` or the body's wording.

    ``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110); ``now`` is the
    wall clock in Unix seconds, so a date turns into a delay without reading a clock.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := _number(lowered.get("retry-after-ms"))) is not None:
        return ms / 1000.0
    raw = lowered.get("retry-after")
    if raw is not None:
        if (seconds := _number(raw)) is not None:
            return seconds
        try:
            when = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, when.timestamp() - now)
    if match := _BODY_RETRY_AFTER.search(message):
        value = float(match.group(1))
        return value / 1000.0 if match.group(2).lower() == "ms" else value
    return None


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced, so a key echoed by a provider never leaks."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    provider: str,
    model: str,
    now: float,
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """The error for a non-2xx answer."""
    said = read_error_body(body)
    text = scrub(said.message, secrets)[:MAX_MESSAGE_CHARS]
    message = f"{provider}:{model} answered HTTP {status}" + (f": {text}" if text else "")
    details: dict[str, Any] = {}
    if said.type:
        details["provider_type"] = said.type
    if said.code:
        details["provider_code"] = said.code
    kwargs: dict[str, Any] = {"provider": provider, "model": model, "status": status, **details}
    retry_after = parse_retry_after(headers, said.message, now)

    if status == 429 or said.type == "rate_limit_error":
        return ProviderRateLimited(message, retry_after=retry_after, **kwargs)
    if status == 529 or said.type in _OVERLOADED_TYPES:
        return ProviderOverloaded(message, retry_after=retry_after, **kwargs)
    if status in (401, 403):
        return ProviderAuthError(message, **kwargs)
    if said.code in _FILTER_CODES or _FILTER_WORDING.search(said.message):
        return ContentFiltered(message, **kwargs)
    if said.code in _CONTEXT_CODES or (status in (400, 413, 422) and _CONTEXT_WORDING.search(said.message)):
        return ContextLengthExceeded(message, **kwargs)
    # 408 and 409 are what OpenAI's own SDK retries: the server, not the request, failed.
    if status >= 500 or status in (408, 409):
        return ProviderServerError(message, retry_after=retry_after, **kwargs)
    return ProviderBadRequest(message, **kwargs)
