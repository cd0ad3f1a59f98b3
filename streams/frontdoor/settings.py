"""The front door's settings: one frozen section, ``[frontdoor]`` in the config file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FrontDoorSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    # TOML file mapping API keys (or their SHA-256) to tenants; see keys.py.
    keys_file: str | None = None
    # How long one HTTP call waits for its reply; also the request's deadline,
    # so the gateway never works on an answer nobody waits for any more.
    request_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    # Request bodies above this are refused before parsing (413).
    max_body_bytes: int = Field(default=4_000_000, ge=1024)
