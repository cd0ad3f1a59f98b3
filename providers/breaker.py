"""Circuit breakers, one per target, as a pure state machine with a board around it.

    closed ──(failure rate over the window, or N consecutive failures)──► open
    open ──(open_s elapsed, on the next request)──► half_open
    half_open ──(half_open_probes successes)──► closed
    half_open ──(a probe fails)──► open

While open, a target is skipped without a call, so requests pay no timeout for a
target known to be down. Half-open admits at most ``half_open_probes`` calls at a
time; a probe that never reports back (its task was cancelled) stops blocking after
``open_s``. Separately, a Retry-After from a target *holds* it (skipped) until then,
so one request's 429 spares the next requests the same 429.

The failure window is time-bucketed (ten buckets per ``window_s``) so memory stays
bounded whatever the call rate. State is per worker process; it is a health view,
not shared truth, and rebuilds itself from traffic after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from tokenyard.providers.routing_config import BreakerConfig

BUCKETS_PER_WINDOW = 10


class BreakerState(str, Enum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


@dataclass(frozen=True)
class Bucket:
    index: int  # floor(t / bucket width)
    calls: int
    failures: int


@dataclass(frozen=True)
class Breaker:
    """One target's breaker; transitions return a new value."""

    state: BreakerState = BreakerState.closed
    buckets: tuple[Bucket, ...] = ()
    consecutive_failures: int = 0
    opened_at: float | None = None
    probes_in_flight: int = 0
    probe_started_at: float | None = None
    probe_successes: int = 0
    held_until: float | None = None


def _bucket_width(config: BreakerConfig) -> float:
    return config.window_s / BUCKETS_PER_WINDOW


def _live_buckets(buckets: tuple[Bucket, ...], now: float, config: BreakerConfig) -> tuple[Bucket, ...]:
    oldest = int(now // _bucket_width(config)) - BUCKETS_PER_WINDOW + 1
    return tuple(b for b in buckets if b.index >= oldest)


def window_counts(breaker: Breaker, now: float, config: BreakerConfig) -> tuple[int, int]:
    """(calls, failures) within the last ``window_s``."""
    live = _live_buckets(breaker.buckets, now, config)
    return sum(b.calls for b in live), sum(b.failures for b in live)


def allow(
    breaker: Breaker, now: float, config: BreakerConfig, *, honour_hold: bool = True
) -> tuple[Breaker, bool]:
    """Whether a call may go to the target now; admitting a probe is a transition.

    ``honour_hold=False`` is for the request that got the Retry-After: it already
    waited it out, and clock jitter must not turn its retry into a skip.
    """
    if honour_hold and breaker.held_until is not None and now < breaker.held_until:
        return breaker, False
    if breaker.state is BreakerState.open:
        assert breaker.opened_at is not None
        if now < breaker.opened_at + config.open_s:
            return breaker, False
        breaker = replace(
            breaker,
            state=BreakerState.half_open,
            probes_in_flight=0,
            probe_successes=0,
            probe_started_at=None,
        )
    if breaker.state is BreakerState.half_open:
        stale = (
            breaker.probe_started_at is not None
            and now >= breaker.probe_started_at + config.open_s
        )
        in_flight = 0 if stale else breaker.probes_in_flight
        if in_flight + breaker.probe_successes >= config.half_open_probes:
            return breaker, False
        return replace(breaker, probes_in_flight=in_flight + 1, probe_started_at=now), True
    return breaker, True


def record(breaker: Breaker, now: float, config: BreakerConfig, *, failed: bool) -> Breaker:
    """The breaker after a call to its target finished (``failed``: a counted failure)."""
    if breaker.state is BreakerState.half_open:
        if failed:
            return _open(breaker, now)
        successes = breaker.probe_successes + 1
        if successes >= config.half_open_probes:
            return Breaker(held_until=breaker.held_until)
        return replace(
            breaker,
            probe_successes=successes,
            probes_in_flight=max(0, breaker.probes_in_flight - 1),
        )
    if breaker.state is BreakerState.open:
        # A call admitted before the circuit opened finished late: it changes nothing.
        return breaker
    index = int(now // _bucket_width(config))
    live = _live_buckets(breaker.buckets, now, config)
    if live and live[-1].index == index:
        last = live[-1]
        live = live[:-1] + (Bucket(index, last.calls + 1, last.failures + int(failed)),)
    else:
        live = live + (Bucket(index, 1, int(failed)),)
    consecutive = breaker.consecutive_failures + 1 if failed else 0
    breaker = replace(breaker, buckets=live, consecutive_failures=consecutive)
    calls = sum(b.calls for b in live)
    failures = sum(b.failures for b in live)
    rate_tripped = calls >= config.min_calls and failures / calls >= config.failure_rate
    if failed and (rate_tripped or consecutive >= config.consecutive_failures):
        return _open(breaker, now)
    return breaker


def hold(breaker: Breaker, until: float) -> Breaker:
    """Skip the target until ``until`` (a Retry-After); never shortens a longer hold."""
    if breaker.held_until is not None and breaker.held_until >= until:
        return breaker
    return replace(breaker, held_until=until)


def _open(breaker: Breaker, now: float) -> Breaker:
    return Breaker(state=BreakerState.open, opened_at=now, held_until=breaker.held_until)


@dataclass(frozen=True)
class BreakerSnapshot:
    """One target's breaker, for metrics and the status endpoint."""

    target: str
    state: BreakerState
    calls_in_window: int
    failures_in_window: int
    consecutive_failures: int
    opened_at: float | None
    held_until: float | None


class BreakerBoard:
    """Every target's breaker in one worker; the only mutable holder of breaker state."""

    def __init__(self, config: BreakerConfig):
        self.config = config
        self._breakers: dict[str, Breaker] = {}

    def allow(self, target: str, now: float, *, honour_hold: bool = True) -> bool:
        current = self._breakers.get(target, Breaker())
        breaker, allowed = allow(current, now, self.config, honour_hold=honour_hold)
        self._breakers[target] = breaker
        return allowed

    def record(self, target: str, now: float, *, code: str | None) -> None:
        """``code``: None for a success, else the failed call's error code."""
        # An uncounted error (bad request, prompt too long) says nothing about the
        # target's health, yet the target did answer: it counts as a success.
        failed = code is not None and code in self.config.counted_codes
        current = self._breakers.get(target, Breaker())
        self._breakers[target] = record(current, now, self.config, failed=failed)

    def hold(self, target: str, now: float, retry_after: float) -> None:
        until = now + min(retry_after, self.config.max_hold_s)
        self._breakers[target] = hold(self._breakers.get(target, Breaker()), until)

    def state(self, target: str) -> BreakerState:
        return self._breakers.get(target, Breaker()).state

    def blocked_for(self, target: str, now: float) -> float | None:
        """Seconds until ``target`` may be tried again (a hold, or an open circuit)."""
        breaker = self._breakers.get(target, Breaker())
        waits = []
        if breaker.held_until is not None and breaker.held_until > now:
            waits.append(breaker.held_until - now)
        if breaker.state is BreakerState.open and breaker.opened_at is not None:
            waits.append(max(0.0, breaker.opened_at + self.config.open_s - now))
        return max(waits) if waits else None

    def snapshot(self, now: float) -> dict[str, BreakerSnapshot]:
        snapshots = {}
        for target, breaker in sorted(self._breakers.items()):
            calls, failures = window_counts(breaker, now, self.config)
            snapshots[target] = BreakerSnapshot(
                target=target,
                state=breaker.state,
                calls_in_window=calls,
                failures_in_window=failures,
                consecutive_failures=breaker.consecutive_failures,
                opened_at=breaker.opened_at,
                held_until=_future_or_none(breaker.held_until, now),
            )
        return snapshots


def _future_or_none(moment: float | None, now: float) -> float | None:
    return moment if moment is not None and moment > now else None
