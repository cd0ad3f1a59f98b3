"""The targets of a route's chain, and which of them can take a request at all.

Checked before any call: a target that cannot stream, call tools, answer in JSON mode
or hold the prompt is skipped, never sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenyard.pricing import Price
from tokenyard.providers.base import CallTimeouts
from tokenyard.schemas.records import Request


@dataclass(frozen=True)
class Target:
    """One ``provider:model`` of a chain, with what routing needs to know about it."""

    provider: str
    model: str
    context_window: int | None = None
    streaming: bool = True
    tools: bool = False
    json_mode: bool = False
    timeouts: CallTimeouts = CallTimeouts()
    price: Price | None = None

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.model}"


def estimate_prompt_tokens(request: Request) -> int:
    """A cheap upper-ish estimate for context-window checks (never for billing).

    ~4 characters per token for English plus per-message framing. An underestimate
    only means the provider answers ``context_length_exceeded`` and the policy skips
    to a larger model.
    """
    return sum(len(m.content) // 4 + 4 for m in request.messages) + 3


def tokens_needed(request: Request, prompt_tokens: int) -> int:
    return prompt_tokens + (request.params.max_tokens or 0)


def unservable_reason(
    target: Target, request: Request, needed_tokens: int, larger_than: int | None
) -> str | None:
    """Why ``target`` cannot take ``request`` (``capability``/``context_window``), or None."""
    if request.stream and not target.streaming:
        return "capability: streaming"
    if request.tools and not target.tools:
        return "capability: tools"
    if request.params.response_format == "json_object" and not target.json_mode:
        return "capability: json_mode"
    if target.context_window is not None:
        if needed_tokens > target.context_window:
            return f"context_window: needs ~{needed_tokens} tokens > {target.context_window}"
        if larger_than is not None and target.context_window <= larger_than:
            return f"context_window: not larger than {larger_than} (prompt was too long)"
    return None
