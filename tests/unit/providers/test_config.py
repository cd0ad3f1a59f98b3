"""Provider config: bad keys fail with a message naming them; keys never leak."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tokenyard.errors import ConfigError
from tokenyard.providers.config import ModelConfig, ProviderConfig, resolve_api_key

MODELS = {"m": {"context_window": 8192}}


def test_defaults_fill_in_vendor_urls_and_capabilities():
    cfg = ProviderConfig.model_validate({"kind": "openai", "api_key_env": "OPENAI_KEY", "models": MODELS})
    assert cfg.effective_base_url == "https://api.openai.com/v1"
    caps = cfg.model("m").capabilities
    assert (caps.chat, caps.streaming, caps.tools, caps.json_mode) == (True, True, False, False)
    assert cfg.timeouts.to_call_timeouts().first_byte == 30.0
    anthropic = ProviderConfig(kind="anthropic", api_key_env="K", models=MODELS)
    assert anthropic.effective_base_url == "https://api.anthropic.com"


def test_unknown_key_is_named():
    with pytest.raises(ValidationError, match="temprature"):
        ProviderConfig.model_validate(
            {"kind": "openai", "api_key_env": "K", "models": MODELS, "temprature": 1}
        )
    with pytest.raises(ValidationError, match="context_windw"):
        ModelConfig.model_validate({"context_windw": 5})


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"kind": "openai_compatible", "models": MODELS}, "base_url is required"),
        ({"kind": "anthropic", "models": MODELS}, "api_key_env is required"),
        ({"kind": "openai", "api_key_env": "K", "models": {}}, "models"),
        ({"kind": "openai", "api_key_env": "K", "models": MODELS, "base_url": "ftp://x"}, "http://"),
        ({"kind": "vertex", "api_key_env": "K", "models": MODELS}, "kind"),
        ({"kind": "openai", "api_key_env": "sk-not a name", "models": MODELS}, "api_key_env"),
        (
            {"kind": "openai", "api_key_env": "K",
             "models": {"m": {"context_window": 10, "max_output_tokens": 20}}},
            "exceeds context_window",
        ),
    ],
)
def test_invalid_configs_fail_naming_the_problem(raw, needle):
    with pytest.raises(ValidationError, match=needle):
        ProviderConfig.model_validate(raw)


def test_compatible_server_needs_no_key_and_base_url_is_normalised():
    cfg = ProviderConfig(kind="openai_compatible", base_url="http://localhost:8000/v1/", models=MODELS)
    assert cfg.effective_base_url == "http://localhost:8000/v1"
    assert resolve_api_key("vllm", cfg, {}) is None


def test_resolve_api_key_reads_the_named_variable():
    cfg = ProviderConfig(kind="openai", api_key_env="OPENAI_KEY", models=MODELS)
    assert resolve_api_key("openai", cfg, {"OPENAI_KEY": "sk-secret"}) == "sk-secret"


@pytest.mark.parametrize("environ", [{}, {"OPENAI_KEY": "  "}])
def test_missing_key_names_config_key_and_variable(environ):
    cfg = ProviderConfig(kind="openai", api_key_env="OPENAI_KEY", models=MODELS)
    with pytest.raises(ConfigError) as info:
        resolve_api_key("main", cfg, environ)
    assert "providers.main.api_key_env" in info.value.message
    assert "OPENAI_KEY" in info.value.message


def test_unknown_model_names_known_ones():
    cfg = ProviderConfig(kind="openai", api_key_env="K", models=MODELS)
    with pytest.raises(ConfigError, match="known: m"):
        cfg.model("gpt-9")


def test_config_is_frozen():
    cfg = ProviderConfig(kind="openai", api_key_env="K", models=MODELS)
    with pytest.raises(ValidationError):
        cfg.kind = "anthropic"  # type: ignore[misc]
