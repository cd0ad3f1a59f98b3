"""Build the provider object a configured account needs."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from tokenyard.providers.base import Provider
from tokenyard.providers.anthropic import AnthropicProvider
from tokenyard.providers.config import ProviderConfig
from tokenyard.providers.openai import OpenAICompatibleProvider, OpenAIProvider


def build_provider(
    name: str,
    cfg: ProviderConfig,
    client: httpx.AsyncClient,
    api_key: str | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
) -> Provider:
    """The provider for ``cfg.kind``; ``api_key`` comes from ``resolve_api_key``."""
    if cfg.kind == "openai":
        return OpenAIProvider(name, cfg, client, api_key, clock=clock, wall_clock=wall_clock)
    if cfg.kind == "openai_compatible":
        return OpenAICompatibleProvider(name, cfg, client, api_key, clock=clock, wall_clock=wall_clock)
    return AnthropicProvider(name, cfg, client, api_key, clock=clock, wall_clock=wall_clock)
