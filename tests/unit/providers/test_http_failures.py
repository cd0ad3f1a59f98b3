"""HTTP error answers -> the error tree, for every vendor's body shape."""

from __future__ import annotations

from email.utils import formatdate

import orjson
import pytest

from tokenyard.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
)
from tokenyard.providers.http_failures import error_from_response, parse_retry_after, read_error_body

NOW = 1_700_000_000.0


def _map(status, body, headers=None, secrets=()):
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return error_from_response(
        status, headers or {}, raw, provider="p", model="m", now=NOW, secrets=secrets
    )


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}, ProviderRateLimited),
        (500, {"error": {"message": "boom", "type": "server_error"}}, ProviderServerError),
        (502, b"<html>bad gateway</html>", ProviderServerError),
        (503, b"", ProviderServerError),
        (504, b"", ProviderServerError),
        (529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, ProviderOverloaded),
        (401, {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, ProviderAuthError),
        (403, {"type": "error", "error": {"type": "permission_error", "message": "no"}}, ProviderAuthError),
        (400, {"error": {"message": "too long", "code": "context_length_exceeded"}}, ContextLengthExceeded),
        (400, {"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 208000 tokens > 200000 maximum"}}, ContextLengthExceeded),
        (400, {"object": "error", "message": "This model's maximum context length is 4096 tokens.", "type": "BadRequestError", "code": 400}, ContextLengthExceeded),
        (400, {"error": {"code": 400, "message": "the request exceeds the available context size", "type": "exceed_context_size_error"}}, ContextLengthExceeded),
        (400, {"error": {"message": "filtered", "code": "content_filter"}}, ContentFiltered),
        (400, {"error": {"message": "Unrecognized request argument supplied: foo", "type": "invalid_request_error"}}, ProviderBadRequest),
        (404, {"error": {"message": "model not found"}}, ProviderBadRequest),
        (422, {"detail": [{"loc": ["body"], "msg": "bad"}]}, ProviderBadRequest),
        (400, {"error": "ollama says no"}, ProviderBadRequest),
    ],
)
def test_status_and_body_pick_the_error(status, body, cls):
    error = _map(status, body)
    assert type(error) is cls
    assert error.status == status
    assert error.target == "p:m"


def test_rate_limit_carries_retry_after_seconds_header():
    error = _map(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"})
    assert error.retry_after == 7.0 and error.retriable


def test_retry_after_http_date_and_ms_and_body():
    date = formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, "", NOW) == pytest.approx(30.0)
    assert parse_retry_after({"retry-after": formatdate(NOW - 30, usegmt=True)}, "", NOW) == 0.0
    assert parse_retry_after({"retry-after-ms": "250"}, "", NOW) == 0.25
    assert parse_retry_after({}, "Please try again in 1.5s. Visit ...", NOW) == 1.5
    assert parse_retry_after({}, "Please try again in 120ms.", NOW) == pytest.approx(0.12)
    assert parse_retry_after({"retry-after": "soon"}, "", NOW) is None
    assert parse_retry_after({"retry-after": "-3"}, "", NOW) is None
    assert parse_retry_after({}, "", NOW) is None


def test_body_retry_after_used_when_no_header():
    error = _map(429, {"error": {"message": "Rate limit reached. Please try again in 20s."}})
    assert error.retry_after == 20.0


def test_overloaded_keeps_retry_after_and_is_retriable():
    error = _map(529, {"type": "error", "error": {"type": "overloaded_error", "message": "x"}}, {"retry-after": "2"})
    assert error.retry_after == 2.0 and error.retriable


def test_messages_are_scrubbed_of_secrets_and_name_provider_type():
    error = _map(401, {"error": {"message": "Incorrect API key provided: sk-live-123", "type": "invalid_request_error"}}, secrets=["sk-live-123"])
    assert "sk-live-123" not in error.message
    assert "***" in error.message
    assert error.details["provider_type"] == "invalid_request_error"
    assert not error.retriable


def test_unreadable_bodies_still_give_a_message():
    assert read_error_body(b"\xff\xfe not json").message
    assert read_error_body(b"[1,2]").message == "[1, 2]"
    assert read_error_body(b"").message == ""
