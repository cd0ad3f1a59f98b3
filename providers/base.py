"""What every provider is, and what one call to it produces.

A provider is a pair of pure transforms (request -> wire payload, wire payload ->
:class:`Completion`) behind a small I/O shell that owns an ``httpx.AsyncClient``.
httpx errors never leave this package: the shell maps them onto
:mod:`tokenyard.errors` (``ProviderTimeout``, ``ProviderConnectionError``, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from tokenyard.errors import ProviderError
from tokenyard.schemas.records import Request, Usage


@dataclass(frozen=True)
class Completion:
    """A finished answer from one target."""

    content: str
    finish_reason: str
    usage: Usage
    provider: str
    model: str
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    raw_id: str | None = None
    # True when the provider reported no usage (e.g. a stream without its usage
    # chunk): ``usage`` is then all zeros and the cost must be flagged unknown, not $0.
    usage_missing: bool = False
    # The answer's rate-limit headers only (see http_call.rate_limit_headers).
    rate_limits: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delta:
    """One streamed text increment from a provider."""

    text: str


@dataclass(frozen=True)
class CallTimeouts:
    """Seconds; ``total`` is further capped by the request's deadline."""

    connect: float = 5.0
    first_byte: float = 30.0
    total: float = 120.0


class Provider(Protocol):
    """One configured provider account (base URL + API key)."""

    name: str

    async def complete(self, request: Request, model: str, timeouts: CallTimeouts) -> Completion:
        """One non-streaming call. Raises a :class:`ProviderError` subclass."""
        ...

    def stream(
        self, request: Request, model: str, timeouts: CallTimeouts
    ) -> AsyncIterator[Delta | Completion]:
        """Yield deltas, then exactly one final :class:`Completion` (with usage).

        A stream that ends without its terminal event raises ``StreamInterrupted``.
        """
        ...


@dataclass(frozen=True)
class Attempt:
    """One try of one target, successful or not; each becomes a usage row."""

    number: int
    provider: str
    model: str
    error: ProviderError | None
    usage: Usage = field(default_factory=Usage)
    cost_usd: Decimal | None = None  # None: the model has no price (cost_unknown)
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    rate_limits: Mapping[str, str] = field(default_factory=dict)  # its rate-limit headers

    @property
    def status(self) -> str:
        return "ok" if self.error is None else self.error.code
