"""The [auth] section: validation, secrets from the environment, clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tokenyard.errors import ConfigError
from tokenyard.security import AuthConfig

TWO_KEYS = {"acme": [{"key_id": "acme-1", "secret_env": "ACME_1"}, {"key_id": "acme-2", "secret_env": "ACME_2"}]}


def test_resolves_both_keys_of_a_tenant_with_the_policy() -> None:
    config = AuthConfig(required=True, max_skew_s=60, tenants=TWO_KEYS)
    ring = config.resolve({"ACME_1": "a" * 32, "ACME_2": "b" * 32})
    assert ring.required and ring.max_skew_ms == 60_000
    assert ring.key_ids("acme") == ["acme-1", "acme-2"]
    assert ring.key("acme-2").secret == b"b" * 32 and ring.key("acme-2").tenant == "acme"


def test_missing_and_short_secrets_are_named_together() -> None:
    config = AuthConfig(tenants={**TWO_KEYS, "globex": [{"key_id": "g1", "secret_env": "GLOBEX"}]})
    with pytest.raises(ConfigError) as info:
        config.resolve({"ACME_1": "short", "ACME_2": ""})
    message = info.value.message
    assert "not set: ACME_2, GLOBEX" in message
    assert "shorter than 16 bytes in: ACME_1" in message
    assert "short" not in message.split("in: ")[-1].replace("ACME_1", "")  # the value itself is never shown


def test_required_with_no_tenant_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="auth.required is true but auth.tenants names no tenant"):
        AuthConfig(required=True).resolve({})


def test_more_than_two_keys_per_tenant_is_refused() -> None:
    refs = [{"key_id": f"k{i}", "secret_env": f"K{i}"} for i in range(3)]
    with pytest.raises(ValidationError, match="at most 2"):
        AuthConfig(tenants={"acme": refs})


def test_a_key_id_may_belong_to_one_tenant_only() -> None:
    shared = [{"key_id": "k1", "secret_env": "K1"}]
    with pytest.raises(ValidationError, match="key id 'k1' is listed for tenant 'acme' and tenant 'globex'"):
        AuthConfig(tenants={"acme": shared, "globex": shared})


@pytest.mark.parametrize(
    "bad",
    [
        {"requried": True},
        {"max_skew_s": 0},
        {"tenants": {"acme": [{"key_id": "k1", "secret": "inline-secret"}]}},
        {"tenants": {"acme": [{"key_id": "k1", "secret_env": "NOT A NAME"}]}},
        {"tenants": {"acme": []}},
    ],
)
def test_bad_keys_fail_naming_the_problem(bad: dict) -> None:
    with pytest.raises(ValidationError) as info:
        AuthConfig.model_validate(bad)
    where = ".".join(str(p) for p in info.value.errors()[0]["loc"])
    assert where.split(".")[0] in bad


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError):
        AuthConfig().required = True  # type: ignore[misc]
