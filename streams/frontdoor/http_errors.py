"""Every tokenyard error code -> an HTTP status and an OpenAI-style error body.

OpenAI's SDKs read ``{"error": {"message", "type", "param", "code"}}`` and pick the
exception class from the status (401 AuthenticationError, 404 NotFoundError, 429
RateLimitError, 5xx InternalServerError...), retrying 408/409/429/5xx and honouring
``Retry-After`` / ``retry-after-ms``. ``code`` keeps tokenyard's stable code except
where OpenAI has a well-known one that client code already checks for
(``model_not_found``, ``invalid_api_key``, ``rate_limit_exceeded``,
``insufficient_quota``, ``content_filter``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tokenyard.errors import TokenyardError
from tokenyard.schemas.records import ErrorInfo

_INVALID = "invalid_request_error"
_SERVER = "server_error"


@dataclass(frozen=True)
class Mapping:
    status: int
    type: str
    code: str | None = None  # None: keep tokenyard's code


# Keyed by tokenyard error code; a test checks that every code in errors.py is here.
BY_CODE: dict[str, Mapping] = {
    "internal_error": Mapping(500, _SERVER),
    "config_invalid": Mapping(500, _SERVER),
    "invalid_request": Mapping(400, _INVALID),
    "malformed_event": Mapping(400, _INVALID),
    "unknown_model": Mapping(404, _INVALID, "model_not_found"),
    "prompt_too_large": Mapping(400, _INVALID),
    # The front door chose the reply topic, so a refusal is our misconfiguration.
    "unknown_reply_topic": Mapping(500, _SERVER),
    "unauthenticated": Mapping(401, _INVALID, "invalid_api_key"),
    "admission_rejected": Mapping(429, "requests"),
    "rate_limited": Mapping(429, "requests", "rate_limit_exceeded"),
    "budget_exceeded": Mapping(429, "insufficient_quota", "insufficient_quota"),
    "deadline_exceeded": Mapping(504, "timeout"),
    "provider_error": Mapping(502, _SERVER),
    "provider_rate_limited": Mapping(429, "requests", "rate_limit_exceeded"),
    "provider_timeout": Mapping(504, "timeout"),
    "provider_server_error": Mapping(502, _SERVER),
    "provider_overloaded": Mapping(503, _SERVER),
    "provider_connection_error": Mapping(502, _SERVER),
    "stream_interrupted": Mapping(502, _SERVER),
    "provider_bad_response": Mapping(502, _SERVER),
    "context_length_exceeded": Mapping(400, _INVALID, "context_length_exceeded"),
    "content_filtered": Mapping(400, _INVALID, "content_filter"),
    # Our credentials at the provider are wrong: not the caller's fault, so not 401.
    "provider_auth_error": Mapping(502, _SERVER),
    "provider_bad_request": Mapping(400, _INVALID),
    "target_skipped": Mapping(503, _SERVER),  # 400 when not retriable, see below
    "all_targets_failed": Mapping(502, _SERVER),
    "sink_unavailable": Mapping(503, _SERVER),
    "timeout": Mapping(504, "timeout"),
    # The front door's own.
    "broker_unavailable": Mapping(503, _SERVER),
    "idempotency_key_in_use": Mapping(409, _INVALID),
    "request_too_large": Mapping(413, _INVALID),
    "not_found": Mapping(404, _INVALID),
}
_UNKNOWN = Mapping(500, _SERVER)


@dataclass(frozen=True)
class HttpError:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    tokenyard_code: str = "internal_error"  # for metrics and logs; the body may say OpenAI's


def http_error(
    code: str,
    message: str,
    *,
    retriable: bool = False,
    retry_after: float | None = None,
    param: str | None = None,
) -> HttpError:
    mapping = BY_CODE.get(code, _UNKNOWN)
    status = mapping.status
    if code == "target_skipped" and not retriable:
        status = 400  # the route can never serve this request (capability, context window)
    if code not in BY_CODE and retriable:
        status = 503
    headers: dict[str, str] = {}
    if status == 429 and retry_after is None:
        retry_after = 1.0  # the SDKs back off on 429 anyway; say how long
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        headers["retry-after-ms"] = str(max(0, round(retry_after * 1000)))
    body = {"error": {"message": message, "type": mapping.type, "param": param, "code": mapping.code or code}}
    return HttpError(status, body, headers, code)


def from_exception(err: TokenyardError) -> HttpError:
    param = err.details.get("param") if isinstance(err.details.get("param"), str) else None
    return http_error(err.code, err.message, retriable=err.retriable, retry_after=err.retry_after, param=param)


def from_error_info(info: ErrorInfo) -> HttpError:
    """An error reply from the gateway."""
    return http_error(info.code, info.message, retriable=info.retriable, retry_after=info.retry_after_s)
