"""Every error tokenyard raises or replies with, in one tree.

Each class has a stable machine-readable ``code`` (it goes on the wire in error
replies, usage events and dead letters) and a ``retriable`` flag that says whether
the same request may succeed if tried again later. Lower-level exceptions (httpx,
aiokafka, clickhouse-connect) are translated into these at the boundary that
meets them, with ``raise ... from exc``; nothing above that boundary sees them.

    TokenyardError
    ├── ConfigError                     config_invalid
    ├── RequestError                    (the event itself is wrong; never retriable)
    │   ├── MalformedEvent              malformed_event
    │   ├── InvalidRequest              invalid_request
    │   ├── UnknownRoute                unknown_model
    │   ├── PromptTooLarge              prompt_too_large
    │   ├── UnknownReplyTopic           unknown_reply_topic
    │   └── Unauthenticated             unauthenticated
    ├── AdmissionError                  (the request is fine, but may not run now)
    │   ├── RateLimited                 rate_limited        retriable, retry_after
    │   ├── BudgetExceeded              budget_exceeded
    │   └── DeadlineExceeded            deadline_exceeded
    ├── ProviderError                   (one call to one provider target failed)
    │   ├── ProviderRateLimited         provider_rate_limited   retriable, retry_after
    │   ├── ProviderTimeout             provider_timeout        retriable
    │   ├── ProviderServerError         provider_server_error   retriable
    │   ├── ProviderOverloaded          provider_overloaded     retriable
    │   ├── ProviderConnectionError     provider_connection_error retriable
    │   ├── StreamInterrupted           stream_interrupted      retriable
    │   ├── BadProviderResponse         provider_bad_response   retriable
    │   ├── ContextLengthExceeded       context_length_exceeded
    │   ├── ContentFiltered             content_filtered
    │   ├── ProviderAuthError           provider_auth_error
    │   ├── ProviderBadRequest          provider_bad_request
    │   └── TargetSkipped               target_skipped      (not called; retriable per reason)
    ├── AllTargetsFailed                all_targets_failed  (names every failure)
    ├── SinkUnavailable                 sink_unavailable    retriable, retry_after
    ├── ReplyTimeout                    timeout             retriable (client side)
    └── RemoteError                     (client side: the gateway replied with an error)
"""

from __future__ import annotations

from typing import Any, ClassVar


class TokenyardError(Exception):
    """Root of the tree. ``code`` is stable; ``message`` is for people."""

    code: ClassVar[str] = "internal_error"
    retriable: ClassVar[bool] = False

    def __init__(self, message: str, *, retry_after: float | None = None, **details: Any):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.details = details

    def to_wire(self) -> dict[str, Any]:
        """The ``error`` object of replies and dead letters."""
        wire: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "retriable": self.retriable,
        }
        if self.retry_after is not None:
            wire["retry_after_s"] = round(self.retry_after, 3)
        if self.details:
            wire["details"] = self.details
        return wire


class ConfigError(TokenyardError):
    """The configuration cannot be used; the message names the key."""

    code = "config_invalid"

    @classmethod
    def from_validation(cls, exc: Any, section: str = "") -> ConfigError:
        """The one way a rejected config table is reported: every bad key (up to five)
        by its full dotted path under ``section``, with what is wrong with it.

        ``exc`` is a pydantic ``ValidationError`` (duck-typed: no pydantic import here).
        """
        errors = exc.errors(include_url=False, include_input=False)
        keys = [".".join(filter(None, [section, *(str(p) for p in e["loc"])])) or "(top level)" for e in errors]
        problems = [f"{key}: {e['msg']}" for key, e in zip(keys, errors, strict=True)][:_MAX_CONFIG_PROBLEMS]
        more = f" (and {len(errors) - len(problems)} more problems)" if len(errors) > len(problems) else ""
        return cls("config key " + "; ".join(problems) + more, key=keys[0])


_MAX_CONFIG_PROBLEMS = 5


# -- the event itself is wrong ----------------------------------------------------


class RequestError(TokenyardError):
    """A request event that can never succeed as sent."""

    code = "invalid_request"


class MalformedEvent(RequestError):
    """Not decodable at all: invalid UTF-8, not JSON, not a JSON object."""

    code = "malformed_event"


class InvalidRequest(RequestError):
    """Decodable but violating the request schema (types, ranges, fields)."""

    code = "invalid_request"


class UnknownRoute(RequestError):
    """``model`` names no configured route."""

    code = "unknown_model"


class PromptTooLarge(RequestError):
    """The prompt is over the configured size limit."""

    code = "prompt_too_large"


class UnknownReplyTopic(RequestError):
    """``reply_to`` is not a topic this gateway may publish to."""

    code = "unknown_reply_topic"


class Unauthenticated(RequestError):
    """The request's signature is missing, wrong, or replayed."""

    code = "unauthenticated"


# -- admission --------------------------------------------------------------------


class AdmissionError(TokenyardError):
    """The request is valid but may not be sent to a provider now."""

    code = "admission_rejected"


class RateLimited(AdmissionError):
    code = "rate_limited"
    retriable = True


class BudgetExceeded(AdmissionError):
    code = "budget_exceeded"


class DeadlineExceeded(AdmissionError):
    code = "deadline_exceeded"


# -- one provider call ------------------------------------------------------------


class ProviderError(TokenyardError):
    """One call to one target (``provider:model``) failed."""

    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        **details: Any,
    ):
        super().__init__(message, retry_after=retry_after, **details)
        self.provider = provider
        self.model = model
        self.status = status
        # The answer's rate-limit headers (x-ratelimit-*, anthropic-ratelimit-*, retry-after),
        # for admission's adaptive rate; never on the wire, never any other header.
        self.rate_limits: dict[str, str] = {}

    @property
    def target(self) -> str:
        return f"{self.provider}:{self.model}"


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    retriable = True


class ProviderTimeout(ProviderError):
    """``details['phase']`` is ``connect``, ``first_byte`` or ``total``."""

    code = "provider_timeout"
    retriable = True


class ProviderServerError(ProviderError):
    code = "provider_server_error"
    retriable = True


class ProviderOverloaded(ProviderError):
    """Anthropic's 529 and similar: the provider sheds load."""

    code = "provider_overloaded"
    retriable = True


class ProviderConnectionError(ProviderError):
    code = "provider_connection_error"
    retriable = True


class StreamInterrupted(ProviderError):
    """A stream ended before its terminal event; the partial text is void."""

    code = "stream_interrupted"
    retriable = True


class BadProviderResponse(ProviderError):
    """The provider answered 2xx with a body we cannot read."""

    code = "provider_bad_response"
    retriable = True


class ContextLengthExceeded(ProviderError):
    """Too long for this model; a larger model in the chain may take it."""

    code = "context_length_exceeded"


class ContentFiltered(ProviderError):
    code = "content_filtered"


class ProviderAuthError(ProviderError):
    code = "provider_auth_error"


class ProviderBadRequest(ProviderError):
    code = "provider_bad_request"


class TargetSkipped(ProviderError):
    """The target was not called: ``details['reason']`` says why.

    Reasons: ``breaker_open``, ``retry_after_hold`` and ``account_quota`` (retriable:
    the target, or its provider account's quota, may be back later), ``capability``
    and ``context_window`` (it can never serve this
    request), ``deadline`` and ``attempt_budget`` (no time or attempts left).
    """

    code = "target_skipped"

    def __init__(self, message: str, *, reason: str, retriable: bool, **kwargs: Any):
        super().__init__(message, reason=reason, **kwargs)
        self.reason = reason
        self._retriable = retriable

    @property
    def retriable(self) -> bool:  # type: ignore[override]
        return self._retriable


class AllTargetsFailed(TokenyardError):
    """Every target of a route failed; ``failures`` holds each one, in order."""

    code = "all_targets_failed"

    def __init__(self, route: str, failures: list[ProviderError]):
        names = "; ".join(f"{f.target}: {f.code} ({f.message})" for f in failures)
        # When every failure says when to come back, the soonest is the answer's.
        waits = [f.retry_after for f in failures if f.retriable and f.retry_after is not None]
        super().__init__(
            f"every target of route {route!r} failed: {names or 'no target could serve it'}",
            retry_after=min(waits) if waits and len(waits) == len(failures) else None,
            failures=[{"target": f.target, **f.to_wire()} for f in failures],
        )
        self.route = route
        self.failures = failures

    @property
    def retriable(self) -> bool:  # type: ignore[override]
        return any(f.retriable for f in self.failures)


class SinkUnavailable(TokenyardError):
    """ClickHouse did not accept a batch; the rows stay in Kafka."""

    code = "sink_unavailable"
    retriable = True


# -- client side ------------------------------------------------------------------


class ReplyTimeout(TokenyardError):
    """No reply arrived within the caller's timeout."""

    code = "timeout"
    retriable = True


class RemoteError(TokenyardError):
    """The gateway answered with an error reply; ``code`` is the reply's code."""

    def __init__(self, code: str, message: str, *, retriable: bool, **details: Any):
        super().__init__(message, **details)
        self.code = code  # type: ignore[misc]
        self.retriable = retriable  # type: ignore[misc]


_BY_CODE: dict[str, type[TokenyardError]] = {}


def _index(cls: type[TokenyardError]) -> None:
    for sub in cls.__subclasses__():
        _BY_CODE.setdefault(sub.code, sub)
        _index(sub)


def error_class(code: str) -> type[TokenyardError] | None:
    """The class that owns ``code``, for tooling that reads codes off the wire."""
    if not _BY_CODE:
        _index(TokenyardError)
    return _BY_CODE.get(code)
