"""The Anthropic provider: the shell around :mod:`anthropic_wire`."""

from __future__ import annotations

from typing import Any

from tokenyard.providers import anthropic_wire
from tokenyard.providers.base import Completion
from tokenyard.providers.wire_provider import StreamAssembler, WireProvider
from tokenyard.schemas.records import Request

# Sent when neither the request nor the model config sets max_tokens, which
# Anthropic requires; every current Claude model can produce at least this many.
FALLBACK_MAX_TOKENS = 4096


class AnthropicProvider(WireProvider):
    path = "/v1/messages"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": anthropic_wire.API_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def payload(self, request: Request, model: str, *, stream: bool) -> dict[str, Any]:
        configured = self.config.models.get(model)
        default = (configured.max_output_tokens if configured else None) or FALLBACK_MAX_TOKENS
        return anthropic_wire.to_payload(
            request, model, default_max_tokens=default, stream=stream, provider=self.name
        )

    def parse(self, body: dict[str, Any], model: str) -> Completion:
        return anthropic_wire.from_payload(body, self.name, model)

    def assembler(self, model: str) -> StreamAssembler:
        return anthropic_wire.StreamAssembler(self.name, model, now=self._wall_clock())
