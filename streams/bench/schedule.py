"""Open-loop arrival schedules: when each request is due, whatever the replies do.

A closed loop (send the next request when the last reply came) slows down with
the system under test and hides its queueing; an open loop keeps offering the
rate, so a slow pipeline shows up as latency and backlog.
"""

from __future__ import annotations

import random
from typing import Literal

Arrivals = Literal["poisson", "fixed"]


def arrival_offsets(rate: float, duration_s: float, *, arrivals: Arrivals = "poisson", seed: int = 0) -> list[float]:
    """Seconds after the start at which each request is due, ascending, all < ``duration_s``.

    ``fixed`` spaces requests exactly ``1/rate`` apart; ``poisson`` draws
    exponential gaps with mean ``1/rate`` from a generator seeded with ``seed``
    (real traffic is bursty; the same seed gives the same schedule).
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive, got {rate}")
    if duration_s <= 0:
        raise ValueError(f"duration must be positive, got {duration_s}")
    if arrivals == "fixed":
        count = int(rate * duration_s)
        return [i / rate for i in range(count) if i / rate < duration_s]
    if arrivals != "poisson":
        raise ValueError(f"arrivals must be 'poisson' or 'fixed', got {arrivals!r}")
    rng = random.Random(seed)
    offsets: list[float] = []
    t = rng.expovariate(rate)
    while t < duration_s:
        offsets.append(t)
        t += rng.expovariate(rate)
    return offsets


def parse_rates(text: str) -> list[float]:
    """``"50,200,1k"`` -> ``[50.0, 200.0, 1000.0]``; positive numbers only."""
    rates: list[float] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        scale = 1000.0 if part.endswith("k") else 1.0
        try:
            value = float(part.removesuffix("k")) * scale
        except ValueError:
            raise ValueError(f"not a rate: {part!r} (expected numbers like 50,200,1k)") from None
        if value <= 0:
            raise ValueError(f"rates must be positive, got {part!r}")
        rates.append(value)
    if not rates:
        raise ValueError("no rates given")
    return rates
