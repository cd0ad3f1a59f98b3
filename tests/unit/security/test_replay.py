"""The replay guard: replays refused, redeliveries allowed, memory bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.errors import Unauthenticated
from tokenyard.security import ReplayGuard

NOW = 1_800_000_000_000
WINDOW = 300_000


def reason(exc: pytest.ExceptionInfo[Unauthenticated]) -> str:
    return exc.value.details["reason"]


def test_a_second_event_with_the_same_signature_is_a_replay() -> None:
    guard = ReplayGuard(window_ms=WINDOW, capacity=10)
    guard.check("sig", NOW, NOW, partition=0, offset=5)
    with pytest.raises(Unauthenticated) as info:
        guard.check("sig", NOW, NOW + 10, partition=0, offset=9)
    assert reason(info) == "replayed" and "partition 0, offset 5" in info.value.message


def test_the_same_event_redelivered_is_not_a_replay() -> None:
    guard = ReplayGuard(window_ms=WINDOW, capacity=10)
    guard.check("sig", NOW, NOW, partition=2, offset=5)
    guard.check("sig", NOW, NOW + 1000, partition=2, offset=5)


def test_without_offsets_every_second_sighting_is_a_replay() -> None:
    guard = ReplayGuard(window_ms=WINDOW, capacity=10)
    guard.check("sig", NOW, NOW)
    with pytest.raises(Unauthenticated):
        guard.check("sig", NOW, NOW)


def test_signatures_are_forgotten_once_the_skew_check_would_refuse_them() -> None:
    guard = ReplayGuard(window_ms=WINDOW, capacity=10)
    guard.check("a", NOW, NOW)
    guard.check("b", NOW + 1, NOW + 1)
    guard.check("c", NOW + 2, NOW + WINDOW + 1)  # "a" is now older than the window
    assert len(guard) == 2


def test_when_full_the_oldest_is_evicted_and_older_requests_are_refused() -> None:
    guard = ReplayGuard(window_ms=WINDOW, capacity=3)
    for i, sig in enumerate(["a", "b", "c"]):
        guard.check(sig, NOW + i, NOW + 10)
    guard.check("d", NOW + 5, NOW + 10)  # evicts "a"
    assert len(guard) == 3 and guard.horizon_ms == NOW
    # "a" can no longer be looked up, but it cannot be replayed either:
    with pytest.raises(Unauthenticated) as info:
        guard.check("a", NOW, NOW + 11, partition=0, offset=99)
    assert reason(info) == "replay_horizon"
    guard.check("e", NOW + 6, NOW + 11)  # fresh requests still pass


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        ReplayGuard(window_ms=0, capacity=1)


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(
        st.tuples(st.integers(0, 15), st.integers(0, 2 * WINDOW), st.integers(0, 3)), min_size=1, max_size=60
    ),
    capacity=st.integers(1, 8),
)
def test_no_signature_is_ever_accepted_from_two_events(events, capacity) -> None:
    """Property: whatever the order, timing and capacity, a signature (always signed at
    the same time, as a real copy would be) is accepted from at most one (partition,
    offset) while within the window; the guard never holds more than ``capacity``."""
    guard = ReplayGuard(window_ms=WINDOW, capacity=capacity)
    accepted_at: dict[int, set[int]] = {}
    now = NOW
    for offset, (sig, advance, _) in enumerate(events):
        now += advance // 8
        signed_at = NOW + sig * 1000  # a copy carries the same timestamp as the original
        if abs(now - signed_at) > WINDOW:
            continue  # the skew check refuses it before the guard is asked
        try:
            guard.check(f"s{sig}", signed_at, now, partition=0, offset=offset)
        except Unauthenticated:
            continue
        accepted_at.setdefault(sig, set()).add(offset)
        assert len(guard) <= capacity
    assert all(len(offsets) == 1 for offsets in accepted_at.values())
