"""The [admission] settings: the documented TOML shape parses, bad keys are named."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from tokenyard.admission import config as config_module
from tokenyard.admission.config import AdmissionConfig
from tokenyard.errors import ConfigError
from tokenyard.schemas.records import Priority


def _documented_example() -> str:
    doc = config_module.__doc__ or ""
    block = doc.split("::", 1)[1].split("A limit left out", 1)[0]
    return "\n".join(line[4:] for line in block.splitlines())


def test_the_documented_toml_example_parses() -> None:
    table = tomllib.loads(_documented_example())["admission"]
    config = AdmissionConfig.parse(table)
    acme = config.tenant("acme")
    assert acme.rpm == 600 and acme.over_limit == "reject" and acme.priority is Priority.high
    assert acme.daily.hard_usd == Decimal("50") and acme.monthly.soft_usd is None
    assert acme.routes["gpt-4o"].tpm == 100000
    assert config.account("openai-main").tpm == 2000000
    assert config.account("nobody") is None


def test_unknown_tenant_gets_the_default_limits() -> None:
    config = AdmissionConfig.parse({"default_tenant": {"rpm": 5}, "tenants": {"a": {"rpm": 50}}})
    assert config.tenant("a").rpm == 50
    assert config.tenant("never-configured").rpm == 5


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"tenants": {"acme": {"rpn": 5}}}, "admission.tenants.acme.rpn"),
        ({"tenants": {"acme": {"rpm": 0}}}, "admission.tenants.acme.rpm"),
        ({"tenants": {"acme": {"over_limit": "drop"}}}, "admission.tenants.acme.over_limit"),
        ({"tenants": {"acme": {"daily": {"soft_usd": "9", "hard_usd": "5"}}}}, "soft_usd 9 is above hard_usd 5"),
        ({"accounts": {"k": {"tpm": -1}}}, "admission.accounts.k.tpm"),
        ({"accounts": {"k": {"lease_fraction": 2}}}, "admission.accounts.k.lease_fraction"),
        ({"aimd": {"decrease_factor": 1.5}}, "admission.aimd.decrease_factor"),
        ({"default_max_token": 5}, "admission.default_max_token"),
    ],
)
def test_invalid_config_raises_config_error_naming_the_key(table, named) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")) as caught:
        AdmissionConfig.parse(table)
    assert caught.value.code == "config_invalid"


def test_config_is_frozen() -> None:
    config = AdmissionConfig()
    with pytest.raises(Exception, match="frozen"):
        config.default_max_tokens = 5  # type: ignore[misc]
