"""Latency summaries: percentiles over a run's samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ascending ``sorted_values``, nearest rank.

    Nearest rank (not interpolation) so p99 and max are values that were really
    observed: with 100 samples p99 is the 99th smallest.
    """
    if not sorted_values:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return float(sorted_values[rank - 1])


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def summarize(latencies_ms: Sequence[float]) -> LatencySummary:
    """Percentiles of ``latencies_ms``; every figure is None when there are none."""
    if not latencies_ms:
        return LatencySummary(0, None, None, None, None, None)
    ordered = sorted(latencies_ms)
    return LatencySummary(
        count=len(ordered),
        p50_ms=percentile(ordered, 50),
        p95_ms=percentile(ordered, 95),
        p99_ms=percentile(ordered, 99),
        max_ms=float(ordered[-1]),
        mean_ms=sum(ordered) / len(ordered),
    )


def difference(a: float | None, b: float | None) -> float | None:
    """``a - b`` where both are known (added latency: pipeline minus direct)."""
    if a is None or b is None:
        return None
    return a - b
