"""What one request through a route came to: a completion, or every failure on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tokenyard.errors import AllTargetsFailed, ProviderError
from tokenyard.providers.base import Attempt, Completion


@dataclass(frozen=True)
class InvokeOutcome:
    """The result of one request through a route: a completion or every failure."""

    route: str
    completion: Completion | None
    error: AllTargetsFailed | None
    attempts: tuple[Attempt, ...]
    failures: tuple[ProviderError, ...]  # in order; includes skipped targets
    stopped_by: ProviderError | None = None  # the error whose policy said "stop"
    restarts: int = 0  # restart markers emitted on the stream
    arm: str | None = None  # the A/B arm picked, when the route is weighted
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.completion is not None

    @property
    def cost_usd(self) -> Decimal:
        """Sum over attempts whose cost is known; see ``cost_unknown``."""
        return sum((a.cost_usd for a in self.attempts if a.cost_usd is not None), Decimal(0))

    @property
    def cost_unknown(self) -> bool:
        return any(a.cost_usd is None for a in self.attempts)

    @property
    def fallback_depth(self) -> int:
        """Distinct targets called before the one that answered (0: the first did)."""
        called = list(dict.fromkeys(f"{a.provider}:{a.model}" for a in self.attempts))
        return max(0, len(called) - 1)
