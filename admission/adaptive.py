"""AIMD control of a provider account's admitted rate.

The configured RPM/TPM are what the provider *publishes*; what it accepts at a
given moment can be lower (shared org limits, incidents, load shedding). So the
account's admitted rate is ``configured × factor`` with ``factor`` in
``[floor, 1]``, driven by what the provider says:

* a 429 (or Anthropic's 529 "overloaded"), or rate-limit headers reporting less
  than ``low_remaining_fraction`` left: multiply ``factor`` by
  ``decrease_factor`` at once (multiplicative decrease). Responses to requests
  already in flight when the first 429 came back say the same thing again, so
  at most one cut is made per ``cut_cooldown_s``: a burst of 429s is one signal,
  not ten halvings (but it holds the rate: no increase while refusals go on);
* a Retry-After, or an exhausted limit family with a reset time: pause the
  account (factor 0) until then, capped at ``max_pause_s``;
* otherwise, once any pause is over, ``factor`` climbs back linearly by
  ``increase_per_s`` (additive increase) until 1.

The value is pure and serialisable: the quota owner keeps one per account and
applies it to new lease grants; workers keep a copy to stop at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from tokenyard.admission.config import AimdPolicy
from tokenyard.admission.provider_signals import RateLimitSignal, parse_rate_limit_headers

RATE_LIMITED_STATUSES = frozenset({429, 529})


@dataclass(frozen=True, slots=True)
class AdaptiveRate:
    factor: float = 1.0
    updated_at: float = 0.0
    paused_until: float = 0.0
    last_cut_at: float | None = None
    policy: AimdPolicy = field(default_factory=AimdPolicy, compare=False)

    def current_factor(self, now: float) -> float:
        """Fraction of the configured limit admitted at ``now``; 0 while paused."""
        if now < self.paused_until:
            return 0.0
        return self._recovered(now)

    def current_limit(self, configured: float, now: float) -> float:
        """``configured`` (per minute or per window) scaled by the current factor."""
        return configured * self.current_factor(now)

    def recovered_factor(self, now: float) -> float:
        """The factor ignoring any pause: what applies once the pause is over."""
        return self._recovered(now)

    def paused(self, now: float) -> bool:
        return now < self.paused_until

    def _recovered(self, now: float) -> float:
        # Recovery starts when the pause ends, not when the 429 arrived.
        since = now - max(self.updated_at, self.paused_until)
        if since <= 0:
            return self.factor
        return min(1.0, self.factor + since * self.policy.increase_per_s)

    def on_response(self, status: int, headers: Mapping[str, str], now: float) -> AdaptiveRate:
        """Fold one provider response (any status) into the rate."""
        return self.on_signal(status, parse_rate_limit_headers(headers, now), now)

    def on_signal(self, status: int, signal: RateLimitSignal, now: float) -> AdaptiveRate:
        policy = self.policy
        factor = self._recovered(now) if now >= self.paused_until else self.factor
        low = signal.lowest_remaining_fraction
        should_cut = status in RATE_LIMITED_STATUSES or (low is not None and low < policy.low_remaining_fraction)
        last_cut_at = self.last_cut_at
        if should_cut:
            if last_cut_at is None or now - last_cut_at >= policy.cut_cooldown_s:
                factor = max(policy.floor, factor * policy.decrease_factor)
                last_cut_at = now
            else:
                # Still being refused: hold the rate, no additive increase yet.
                factor = min(factor, self.factor)
        # A Retry-After pauses whatever the status (a 503 may carry one too).
        pause_s = signal.retry_after_s
        exhausted = signal.exhausted_until_s
        if exhausted is not None:
            pause_s = max(pause_s or 0.0, exhausted)
        paused_until = self.paused_until
        if pause_s:
            paused_until = max(paused_until, now + min(pause_s, policy.max_pause_s))
        return replace(
            self,
            factor=factor,
            updated_at=max(now, self.updated_at),
            paused_until=paused_until,
            last_cut_at=last_cut_at,
        )

    def to_dict(self) -> dict[str, float | None]:
        return {
            "factor": self.factor,
            "updated_at": self.updated_at,
            "paused_until": self.paused_until,
            "last_cut_at": self.last_cut_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, float | None], policy: AimdPolicy | None = None) -> AdaptiveRate:
        return cls(**data, policy=policy or AimdPolicy())
