from __future__ import annotations

import pytest

from tokenyard import errors
from tokenyard.errors import (
    AllTargetsFailed, ProviderServerError, RateLimited, ReplyTimeout, TargetSkipped, TokenyardError, UnknownRoute,
)
from tokenyard.schemas.records import ErrorInfo
from tokenyard.streams.frontdoor.http_errors import BY_CODE, from_error_info, from_exception, http_error


def every_code() -> set[str]:
    found: set[str] = {TokenyardError.code}
    todo = [TokenyardError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__ == errors.__name__ and isinstance(sub.__dict__.get("code", sub.code), str):
                found.add(sub.code)
            todo.append(sub)
    return found


def test_every_error_code_in_the_tree_has_an_explicit_mapping() -> None:
    assert every_code() - set(BY_CODE) == set()


@pytest.mark.parametrize(
    ("code", "status", "openai_code"),
    [
        ("unauthenticated", 401, "invalid_api_key"),
        ("invalid_request", 400, "invalid_request"),
        ("unknown_model", 404, "model_not_found"),
        ("rate_limited", 429, "rate_limit_exceeded"),
        ("budget_exceeded", 429, "insufficient_quota"),
        ("deadline_exceeded", 504, "deadline_exceeded"),
        ("timeout", 504, "timeout"),
        ("all_targets_failed", 502, "all_targets_failed"),
        ("broker_unavailable", 503, "broker_unavailable"),
        ("provider_auth_error", 502, "provider_auth_error"),
        ("context_length_exceeded", 400, "context_length_exceeded"),
    ],
)
def test_status_and_openai_code(code: str, status: int, openai_code: str) -> None:
    mapped = http_error(code, "why")
    assert (mapped.status, mapped.body["error"]["code"], mapped.tokenyard_code) == (status, openai_code, code)
    assert set(mapped.body["error"]) == {"message", "type", "param", "code"}


def test_rate_limits_carry_retry_after_in_whole_seconds_and_milliseconds() -> None:
    mapped = from_exception(RateLimited("slow down", retry_after=2.2))
    assert mapped.status == 429
    assert mapped.headers == {"Retry-After": "3", "retry-after-ms": "2200"}
    assert from_exception(RateLimited("slow down")).headers["Retry-After"] == "1"
    info = ErrorInfo(code="rate_limited", message="m", retriable=True, retry_after_s=0.25)
    assert from_error_info(info).headers == {"Retry-After": "1", "retry-after-ms": "250"}


def test_a_504_has_no_retry_after_unless_known() -> None:
    assert from_exception(ReplyTimeout("late")).headers == {}


def test_a_skipped_target_is_400_when_it_can_never_serve_and_503_otherwise() -> None:
    never = TargetSkipped("too big", reason="context_window", retriable=False)
    later = TargetSkipped("breaker", reason="breaker_open", retriable=True)
    assert from_exception(never).status == 400
    assert from_exception(later).status == 503


def test_unknown_codes_are_500_or_503_when_retriable() -> None:
    assert http_error("brand_new", "m").status == 500
    assert http_error("brand_new", "m", retriable=True).status == 503


def test_param_travels_from_the_error_details() -> None:
    mapped = from_exception(UnknownRoute("no such model", param="model"))
    assert mapped.body["error"]["param"] == "model"


def test_all_targets_failed_keeps_the_message_naming_each_failure() -> None:
    err = AllTargetsFailed("broken", [ProviderServerError("500", provider="fake", model="fail-500")])
    mapped = from_exception(err)
    assert mapped.status == 502 and "fake:fail-500" in mapped.body["error"]["message"]
