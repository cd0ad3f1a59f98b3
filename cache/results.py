"""What a cache lookup answers (:class:`Hit` or :class:`Miss`) and a shard's counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from tokenyard.cache.entry import CacheEntry

if TYPE_CHECKING:
    from tokenyard.cache.weighing import Weighing


@dataclass(frozen=True)
class Hit:
    entry: CacheEntry
    similarity: float
    kind: Literal["exact", "semantic"]
    #: Set when the hit may only be served after its added words are weighed
    #: (:func:`tokenyard.cache.weighing.settle`).
    weighing: Weighing | None = None
    #: The word checks refused it and the judge (cache/judge.py) reopened it.
    judged: bool = False

    @property
    def cost_saved(self) -> Decimal:
        return self.entry.cost_usd or Decimal(0)


@dataclass(frozen=True)
class Miss:
    #: bypass | refresh | no_embedding | empty_scope | below_threshold | rejected | not_found
    reason: str
    rejected: int = 0  # candidates above the threshold that failed verification
    best_similarity: float | None = None
    rejections: tuple[str, ...] = ()  # verifier reasons, one per rejected candidate

    @property
    def needs_embedding(self) -> bool:
        """Call lookup again with the question's embedding to try the semantic path."""
        return self.reason == "no_embedding"


@dataclass
class CacheStats:
    entries: int = 0
    scopes: int = 0
    lookups: int = 0
    exact_hits: int = 0
    semantic_hits: int = 0
    judged_hits: int = 0  # semantic hits the judge reopened (counted in semantic_hits too)
    misses: int = 0
    bypassed: int = 0
    rejected_candidates: int = 0
    expired: int = 0
    evicted: int = 0
    invalidated: int = 0
    cost_saved_usd: Decimal = field(default_factory=Decimal)

    @property
    def hit_rate(self) -> float:
        served = self.exact_hits + self.semantic_hits + self.misses
        return (self.exact_hits + self.semantic_hits) / served if served else 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "entries": self.entries,
            "scopes": self.scopes,
            "lookups": self.lookups,
            "exact_hits": self.exact_hits,
            "semantic_hits": self.semantic_hits,
            "judged_hits": self.judged_hits,
            "misses": self.misses,
            "bypassed": self.bypassed,
            "hit_rate": round(self.hit_rate, 4),
            "rejected_candidates": self.rejected_candidates,
            "expired": self.expired,
            "evicted": self.evicted,
            "invalidated": self.invalidated,
            "cost_saved_usd": str(self.cost_saved_usd),
        }
