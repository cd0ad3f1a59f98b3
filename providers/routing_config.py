"""Routes, fallback policy, retries and circuit breakers, as typed config data.

In the worker's TOML (``streams.settings.Settings``) they are top-level tables::

    [retry]                          # defaults for every route
    max_attempts_per_target = 2
    attempt_budget = 6

    [breaker]
    failure_rate = 0.5
    open_s = 30

    [routes.chat]
    targets = ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-20241022"]
    low_priority_targets = ["local:smollm2"]
    weights = { "openai:gpt-4o-mini" = 0.9, "anthropic:claude-3-5-haiku-20241022" = 0.1 }

    [routes.chat.policy.actions]
    provider_rate_limited = "fall_through"     # merged over the defaults

A target is ``provider:model``; the model part may itself hold colons
(``ollama:llama3:8b``), the provider part may not.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tokenyard.errors import ProviderError, error_class


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FallbackAction(str, Enum):
    """What the fallback loop does after one target's call failed with a given code."""

    stop = "stop"  # give up on the whole request: other targets would fail the same way
    fall_through = "fall_through"  # go to the next target at once
    retry_then_fall_through = "retry_then_fall_through"  # bounded retries here, then next
    skip_to_larger = "skip_to_larger"  # next target with a larger context window


DEFAULT_ACTIONS: dict[str, FallbackAction] = {
    "provider_auth_error": FallbackAction.stop,
    "provider_bad_request": FallbackAction.stop,
    "content_filtered": FallbackAction.stop,
    "context_length_exceeded": FallbackAction.skip_to_larger,
    "provider_rate_limited": FallbackAction.retry_then_fall_through,
    "provider_timeout": FallbackAction.retry_then_fall_through,
    "provider_server_error": FallbackAction.retry_then_fall_through,
    "provider_overloaded": FallbackAction.retry_then_fall_through,
    "provider_connection_error": FallbackAction.retry_then_fall_through,
    "stream_interrupted": FallbackAction.retry_then_fall_through,
    "provider_bad_response": FallbackAction.retry_then_fall_through,
}


def _is_provider_error_code(code: str) -> bool:
    cls = error_class(code)
    return cls is not None and issubclass(cls, ProviderError)


class FallbackPolicy(_Config):
    """Per error code, what to do; entries given in config are merged over the defaults."""

    actions: dict[str, FallbackAction] = Field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    otherwise: FallbackAction = Field(
        default=FallbackAction.fall_through,
        description="Action for a provider error code the table does not name.",
    )

    @field_validator("actions")
    @classmethod
    def _known_codes_over_defaults(
        cls, actions: dict[str, FallbackAction]
    ) -> dict[str, FallbackAction]:
        unknown = sorted(code for code in actions if not _is_provider_error_code(code))
        if unknown:
            raise ValueError(
                f"unknown provider error code(s) {unknown}; "
                f"known: {sorted(DEFAULT_ACTIONS)}"
            )
        return {**DEFAULT_ACTIONS, **actions}

    def action_for(self, code: str) -> FallbackAction:
        return self.actions.get(code, self.otherwise)


class RetryConfig(_Config):
    """Retries in place (same target) and the per-request attempt budget."""

    max_attempts_per_target: int = Field(default=2, ge=1, le=10)
    base_delay_s: float = Field(default=0.25, gt=0)
    max_delay_s: float = Field(default=4.0, gt=0)
    jitter: bool = Field(default=True, description="Full jitter: uniform in [0, backoff].")
    retry_after_cap_s: float = Field(
        default=10.0,
        ge=0,
        description="A Retry-After longer than this is not waited out here: fall through.",
    )
    attempt_budget: int = Field(
        default=6, ge=1, le=50, description="Calls per request across all targets."
    )
    min_attempt_s: float = Field(
        default=0.5,
        ge=0,
        description="No call starts with less time than this left before the deadline.",
    )

    @model_validator(mode="after")
    def _delays_ordered(self) -> RetryConfig:
        if self.base_delay_s > self.max_delay_s:
            raise ValueError(
                f"base_delay_s ({self.base_delay_s}) exceeds max_delay_s ({self.max_delay_s})"
            )
        return self


DEFAULT_BREAKER_CODES = frozenset(
    {
        "provider_rate_limited",
        "provider_timeout",
        "provider_server_error",
        "provider_overloaded",
        "provider_connection_error",
        "stream_interrupted",
        "provider_bad_response",
        "provider_auth_error",
    }
)


class BreakerConfig(_Config):
    """When a target's circuit opens, how long it stays open, how it probes.

    Only errors that say the *target* is unhealthy count (``counted_codes``); a bad
    request or a too-long prompt says nothing about the target and is ignored.
    """

    window_s: float = Field(default=60.0, gt=0)
    failure_rate: float = Field(default=0.5, gt=0, le=1)
    min_calls: int = Field(default=10, ge=1)
    consecutive_failures: int = Field(default=5, ge=1)
    open_s: float = Field(default=30.0, gt=0)
    half_open_probes: int = Field(default=1, ge=1)
    counted_codes: frozenset[str] = DEFAULT_BREAKER_CODES
    max_hold_s: float = Field(
        default=60.0,
        ge=0,
        description="A Retry-After keeps the target skipped for at most this long.",
    )

    @field_validator("counted_codes")
    @classmethod
    def _known_codes(cls, codes: frozenset[str]) -> frozenset[str]:
        unknown = sorted(code for code in codes if not _is_provider_error_code(code))
        if unknown:
            raise ValueError(f"unknown provider error code(s) {unknown}")
        return codes


def split_target(target: str) -> tuple[str, str]:
    """``"ollama:llama3:8b"`` -> ``("ollama", "llama3:8b")``."""
    provider, sep, model = target.partition(":")
    if not sep or not provider or not model:
        raise ValueError(f"target {target!r} must be 'provider:model'")
    return provider, model


class RouteConfig(_Config):
    """One logical model name: its fallback chain, A/B weights, low-priority chain."""

    targets: list[str] = Field(min_length=1)
    weights: dict[str, float] | None = Field(
        default=None,
        description="A/B arms: the arm picked (per request_id) goes first, "
        "then the rest of ``targets`` in order.",
    )
    low_priority_targets: list[str] | None = Field(default=None, min_length=1)
    policy: FallbackPolicy = FallbackPolicy()
    retry: RetryConfig | None = Field(default=None, description="None: the routing default.")

    @field_validator("targets", "low_priority_targets")
    @classmethod
    def _well_formed_unique(cls, targets: list[str] | None) -> list[str] | None:
        if targets is None:
            return None
        for target in targets:
            split_target(target)
        duplicates = sorted({t for t in targets if targets.count(t) > 1})
        if duplicates:
            raise ValueError(f"duplicate target(s) {duplicates}")
        return targets

    @model_validator(mode="after")
    def _weights_name_targets(self) -> RouteConfig:
        if self.weights is None:
            return self
        strays = sorted(set(self.weights) - set(self.targets))
        if strays:
            raise ValueError(f"weights name target(s) not in targets: {strays}")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights must be >= 0 with a positive sum")
        return self


class RoutingConfig(_Config):
    """Routes with the retry and breaker defaults, as one value."""

    routes: dict[str, RouteConfig] = Field(default_factory=dict)
    retry: RetryConfig = RetryConfig()
    breaker: BreakerConfig = BreakerConfig()
