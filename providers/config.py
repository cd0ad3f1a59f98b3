"""How a provider account is configured: base URL, key variable, timeouts, models.

These are the ``[providers.<name>]`` tables of the operator's TOML file. The API key
itself is never part of the config: ``api_key_env`` names the environment variable
that holds it, and :func:`resolve_api_key` reads it from a mapping the caller passes
(the settings loader's snapshot of the environment), so nothing here reads
``os.environ`` and no key ever reaches a ``repr``, a log line or an exception message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tokenyard.errors import ConfigError
from tokenyard.providers.base import CallTimeouts

ProviderKind = Literal["openai", "anthropic", "openai_compatible"]
# What moves provider calls' bytes under httpx (providers/http_client.py).
HttpTransport = Literal["aiohttp", "httpcore"]

# The vendors' own SDK defaults: OpenAI's base URL carries the /v1 prefix, Anthropic's
# does not (its paths start with /v1/). OpenAI-compatible servers are written the
# OpenAI way in their docs (vLLM: http://localhost:8000/v1), so they follow OpenAI.
DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelCapabilities(_Config):
    """What a model can serve; routing never sends a request a model cannot take."""

    chat: bool = True
    streaming: bool = True
    tools: bool = False
    json_mode: bool = False


class ModelConfig(_Config):
    context_window: int = Field(gt=0, description="Tokens of prompt + output the model takes.")
    max_output_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Output cap; also the max_tokens sent to Anthropic when a request sets none.",
    )
    capabilities: ModelCapabilities = ModelCapabilities()

    @model_validator(mode="after")
    def _output_fits_window(self) -> ModelConfig:
        if self.max_output_tokens is not None and self.max_output_tokens > self.context_window:
            raise ValueError(
                f"max_output_tokens ({self.max_output_tokens}) exceeds "
                f"context_window ({self.context_window})"
            )
        return self


class TimeoutsConfig(_Config):
    """Seconds. ``first_byte`` runs from the call's start until the first body byte."""

    connect: float = Field(default=5.0, gt=0)
    first_byte: float = Field(default=30.0, gt=0)
    total: float = Field(default=120.0, gt=0)

    def to_call_timeouts(self) -> CallTimeouts:
        return CallTimeouts(connect=self.connect, first_byte=self.first_byte, total=self.total)


class ProviderConfig(_Config):
    kind: ProviderKind
    base_url: str | None = Field(
        default=None, description="Defaults to the vendor's URL; required for openai_compatible."
    )
    api_key_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the key (never the key).",
    )
    timeouts: TimeoutsConfig = TimeoutsConfig()
    headers: dict[str, str] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(min_length=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {url!r}")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _kind_requirements(self) -> ProviderConfig:
        if self.kind == "openai_compatible" and self.base_url is None:
            raise ValueError("base_url is required for kind 'openai_compatible'")
        # Hosted vendors always need a key; local compatible servers often take none.
        if self.kind != "openai_compatible" and self.api_key_env is None:
            raise ValueError(f"api_key_env is required for kind {self.kind!r}")
        return self

    @property
    def effective_base_url(self) -> str:
        return self.base_url or DEFAULT_BASE_URLS[self.kind]

    def model(self, model: str) -> ModelConfig:
        """The config of ``model``; a ConfigError names the provider's known models."""
        try:
            return self.models[model]
        except KeyError:
            known = ", ".join(sorted(self.models))
            raise ConfigError(f"model {model!r} is not configured (known: {known})") from None


def resolve_api_key(name: str, cfg: ProviderConfig, environ: Mapping[str, str]) -> str | None:
    """The key for provider ``name``, read from ``environ[cfg.api_key_env]``.

    ``None`` when the provider is configured without a key. A named variable that is
    unset or empty is a ConfigError naming the config key and the variable (never
    the value).
    """
    if cfg.api_key_env is None:
        return None
    key = environ.get(cfg.api_key_env, "").strip()
    if not key:
        raise ConfigError(
            f"providers.{name}.api_key_env names environment variable "
            f"{cfg.api_key_env!r}, which is not set or empty",
            key=f"providers.{name}.api_key_env",
            variable=cfg.api_key_env,
        )
    return key
