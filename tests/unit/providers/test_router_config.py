import tomllib

import pytest
from pydantic import ValidationError

from tokenyard.providers.routing_config import (
    DEFAULT_ACTIONS,
    BreakerConfig,
    FallbackAction,
    FallbackPolicy,
    RouteConfig,
    RoutingConfig,
    split_target,
)

EXAMPLE = """
[routing.retry]
max_attempts_per_target = 3
attempt_budget = 5

[routing.breaker]
failure_rate = 0.4
open_s = 15

[routing.routes.chat]
targets = ["openai:gpt-4o-mini", "anthropic:claude-3-5-haiku-20241022"]
low_priority_targets = ["ollama:llama3:8b"]
weights = { "openai:gpt-4o-mini" = 0.9, "anthropic:claude-3-5-haiku-20241022" = 0.1 }

[routing.routes.chat.policy.actions]
provider_rate_limited = "fall_through"
"""


def test_example_toml_loads_and_merges_policy_over_defaults():
    routing = RoutingConfig.model_validate(tomllib.loads(EXAMPLE)["routing"])
    chat = routing.routes["chat"]
    assert routing.retry.max_attempts_per_target == 3
    assert routing.breaker.open_s == 15
    assert chat.policy.action_for("provider_rate_limited") is FallbackAction.fall_through
    assert chat.policy.action_for("provider_auth_error") is FallbackAction.stop
    assert chat.policy.action_for("context_length_exceeded") is FallbackAction.skip_to_larger
    assert split_target(chat.low_priority_targets[0]) == ("ollama", "llama3:8b")


def test_default_policy_matches_the_issue():
    policy = FallbackPolicy()
    assert policy.action_for("provider_bad_request") is FallbackAction.stop
    assert policy.action_for("content_filtered") is FallbackAction.stop
    for code in ("provider_timeout", "provider_server_error", "provider_overloaded", "stream_interrupted"):
        assert policy.action_for(code) is FallbackAction.retry_then_fall_through
    assert policy.action_for("provider_error") is FallbackAction.fall_through  # otherwise
    assert policy.actions == DEFAULT_ACTIONS


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"targets": []}, "targets"),
        ({"targets": ["no-colon"]}, "provider:model"),
        ({"targets": ["a:b", "a:b"]}, "duplicate"),
        ({"targets": ["a:b"], "weights": {"c:d": 1.0}}, "c:d"),
        ({"targets": ["a:b"], "weights": {"a:b": 0.0}}, "positive sum"),
        ({"targets": ["a:b"], "policy": {"actions": {"rate_limited": "stop"}}}, "rate_limited"),
        ({"targets": ["a:b"], "policy": {"actions": {"provider_timeout": "later"}}}, "provider_timeout"),
        ({"targets": ["a:b"], "fallbacks": ["c:d"]}, "fallbacks"),
    ],
)
def test_bad_route_config_names_what_is_wrong(raw, named):
    with pytest.raises(ValidationError, match=named):
        RouteConfig.model_validate(raw)


def test_breaker_codes_must_be_provider_codes():
    with pytest.raises(ValidationError, match="budget_exceeded"):
        BreakerConfig(counted_codes=frozenset({"budget_exceeded"}))


def test_configs_are_frozen():
    route = RouteConfig(targets=["a:b"])
    with pytest.raises(ValidationError):
        route.targets = ["c:d"]  # type: ignore[misc]
