"""OpenAI and OpenAI-compatible providers: the shell around :mod:`openai_wire`."""

from __future__ import annotations

from typing import Any

from tokenyard.providers import openai_wire
from tokenyard.providers.base import Completion
from tokenyard.providers.wire_provider import StreamAssembler, WireProvider
from tokenyard.schemas.records import Request


class OpenAICompatibleProvider(WireProvider):
    """Any server speaking OpenAI's ``/chat/completions`` (vLLM, Ollama, Groq, ...)."""

    path = "/chat/completions"
    max_tokens_field: openai_wire.MaxTokensField = "max_tokens"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    def payload(self, request: Request, model: str, *, stream: bool) -> dict[str, Any]:
        return openai_wire.to_payload(request, model, stream=stream, max_tokens_field=self.max_tokens_field)

    def parse(self, body: dict[str, Any], model: str) -> Completion:
        return openai_wire.from_payload(body, self.name, model)

    def assembler(self, model: str) -> StreamAssembler:
        return openai_wire.StreamAssembler(self.name, model, now=self._wall_clock())


class OpenAIProvider(OpenAICompatibleProvider):
    """api.openai.com: same wire; its reasoning models take only ``max_completion_tokens``."""

    max_tokens_field: openai_wire.MaxTokensField = "max_completion_tokens"
