"""Token buckets as pure state transitions.

A :class:`Bucket` holds up to ``capacity`` tokens and refills continuously at
``refill_per_s``. Nothing here reads a clock: every function takes ``now``
(seconds, any monotonic-ish epoch) and returns a new bucket.

Two ways to move tokens, with different guarantees:

* :func:`admit` takes ``cost`` only when the bucket holds at least ``cost``
  after refilling, so admission alone never drives a bucket below zero, and
  refilling never lifts it above ``capacity``. Over any window ``[t, t + W]``
  the total admitted is therefore at most ``refill_per_s * W + capacity``.
* :func:`charge` corrects an earlier admission once the real cost is known
  (an LLM call's real token usage differs from the estimate). A refund
  (``delta < 0``) is capped at ``capacity``; an extra charge (``delta > 0``)
  is taken unconditionally and may leave the bucket **in debt** (negative
  tokens). Debt is paid back by refill before anything else is admitted, so
  the long-run rate of *real* usage converges to ``refill_per_s``. Debt is not
  floored: a floor would forgive real usage and let the true rate exceed the
  limit. It stays small in practice because the estimate already includes the
  caller's ``max_tokens``; only the prompt-size guess can be low.

If the clock steps backwards, a bucket neither refills nor moves its
``updated_at`` back, so the same interval is never credited twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

NEVER = math.inf


@dataclass(frozen=True, slots=True)
class Bucket:
    capacity: float
    tokens: float
    refill_per_s: float
    updated_at: float

    def __post_init__(self) -> None:
        # One chained comparison on the hot path; NaN fails every comparison.
        if 0 < self.capacity < math.inf and 0 <= self.refill_per_s < math.inf and self.tokens <= self.capacity:
            return
        if not 0 < self.capacity < math.inf:
            raise ValueError(f"bucket capacity must be a positive finite number, got {self.capacity!r}")
        if not 0 <= self.refill_per_s < math.inf:
            raise ValueError(f"bucket refill_per_s must be >= 0 and finite, got {self.refill_per_s!r}")
        raise ValueError(f"bucket tokens {self.tokens!r} must be a number <= capacity {self.capacity!r}")

    @classmethod
    def full(cls, capacity: float, refill_per_s: float, now: float) -> Bucket:
        return cls(capacity=capacity, tokens=capacity, refill_per_s=refill_per_s, updated_at=now)

    @classmethod
    def per_minute(cls, limit: float, now: float) -> Bucket:
        """A full bucket for a per-minute limit: burst of ``limit``, refill ``limit / 60`` per s."""
        return cls.full(capacity=limit, refill_per_s=limit / 60.0, now=now)

    def to_dict(self) -> dict[str, float]:
        return {
            "capacity": self.capacity,
            "tokens": self.tokens,
            "refill_per_s": self.refill_per_s,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> Bucket:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of :func:`admit`.

    ``retry_after`` is 0 when admitted, the seconds until ``cost`` fits
    otherwise, and :data:`NEVER` (``math.inf``) when it can never fit: the cost
    is over capacity, or the bucket does not refill.
    """

    admitted: bool
    retry_after: float
    reason: str = ""

    @property
    def never(self) -> bool:
        return math.isinf(self.retry_after)


ADMITTED = Decision(admitted=True, retry_after=0.0)


def refill(bucket: Bucket, now: float) -> Bucket:
    """The bucket as it stands at ``now``."""
    elapsed = now - bucket.updated_at
    if elapsed <= 0:
        return bucket
    tokens = bucket.tokens
    if tokens < bucket.capacity:
        tokens = min(bucket.capacity, tokens + elapsed * bucket.refill_per_s)
    return Bucket(bucket.capacity, tokens, bucket.refill_per_s, now)


def wait_for(bucket: Bucket, cost: float, now: float) -> tuple[Bucket, float]:
    """``(refilled bucket, seconds until cost fits)``; 0 if it fits now, NEVER if it cannot."""
    if not cost >= 0:
        raise ValueError(f"cost must be >= 0, got {cost!r}")
    current = refill(bucket, now)
    if cost > current.capacity:
        return current, NEVER
    missing = cost - current.tokens
    if missing <= 0:
        return current, 0.0
    if current.refill_per_s == 0:
        return current, NEVER
    # The clock may have stepped back (now < updated_at): refill starts again at
    # updated_at, so the wait counts from there.
    wait = max(0.0, current.updated_at - now) + missing / current.refill_per_s
    # Float rounding can leave ``now + wait`` a hair short of the cost (or equal
    # to ``now``); a caller that comes back exactly then must be admitted, not
    # told to wait a few ulps more forever.
    nudge = math.ulp(now + wait)
    while refill(current, now + wait).tokens < cost:
        wait += nudge
        nudge *= 2
    return current, wait


def take(bucket: Bucket, cost: float) -> Bucket:
    """Remove ``cost`` from an already-refilled bucket known to hold it."""
    return Bucket(bucket.capacity, bucket.tokens - cost, bucket.refill_per_s, bucket.updated_at)


def admit(bucket: Bucket, cost: float, now: float) -> tuple[Bucket, Decision]:
    """Take ``cost`` if it fits at ``now``; otherwise leave the bucket and say how long to wait."""
    current, wait = wait_for(bucket, cost, now)
    if wait == 0.0:
        return take(current, cost), ADMITTED
    if cost > current.capacity:
        reason = f"cost {cost:g} exceeds bucket capacity {current.capacity:g}; it can never be admitted"
    elif math.isinf(wait):
        reason = f"bucket holds {current.tokens:g} < cost {cost:g} and does not refill"
    else:
        reason = f"bucket holds {current.tokens:g} < cost {cost:g}"
    return current, Decision(admitted=False, retry_after=wait, reason=reason)


def charge(bucket: Bucket, delta: float, now: float) -> Bucket:
    """Correct an earlier admission by ``delta`` tokens (negative refunds).

    Refunds stop at capacity; extra charges may put the bucket into debt.
    """
    if math.isnan(delta) or math.isinf(delta):
        raise ValueError(f"charge delta must be finite, got {delta!r}")
    current = refill(bucket, now)
    tokens = min(current.capacity, current.tokens - delta)
    return replace(current, tokens=tokens)
