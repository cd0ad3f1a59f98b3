"""A record shown late by the broker is waited for, not skipped."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tokenyard.streams.offset_holes import GaplessConsumer, HoleWatch

NOW = 1_800_000_000.0


@dataclass
class Rec:
    offset: int
    timestamp: int = int(NOW * 1000)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def offsets(records) -> list[int]:
    return [r.offset for r in records]


def test_contiguous_records_pass_untouched() -> None:
    watch = HoleWatch(clock=Clock())
    kept, refetch = watch.screen("tp", 10, [Rec(10), Rec(11), Rec(12)])
    assert offsets(kept) == [10, 11, 12] and refetch is None
    assert watch.refetches == 0


def test_unknown_position_starts_at_the_first_record() -> None:
    kept, refetch = HoleWatch(clock=Clock()).screen("tp", None, [Rec(7), Rec(8)])
    assert offsets(kept) == [7, 8] and refetch is None


def test_a_hole_before_the_batch_holds_it_back_and_refetches_from_the_hole() -> None:
    watch = HoleWatch(clock=Clock())
    kept, refetch = watch.screen("tp", 10, [Rec(11), Rec(12)])
    assert kept == [] and refetch == 10
    assert watch.refetches == 1


def test_a_hole_inside_the_batch_delivers_what_comes_before_it() -> None:
    kept, refetch = HoleWatch(clock=Clock()).screen("tp", 10, [Rec(10), Rec(11), Rec(13), Rec(14)])
    assert offsets(kept) == [10, 11] and refetch == 12


def test_the_refetched_hole_filled_is_delivered_in_order_and_forgotten() -> None:
    watch = HoleWatch(clock=Clock())
    watch.screen("tp", 10, [Rec(11)])
    kept, refetch = watch.screen("tp", 10, [Rec(10), Rec(11)])
    assert offsets(kept) == [10, 11] and refetch is None
    assert watch._open == {}


def test_a_hole_that_stays_empty_is_accepted_after_the_wait(caplog) -> None:
    clock = Clock()
    watch = HoleWatch(wait_s=2.0, clock=clock)
    for _ in range(3):
        assert watch.screen("tp", 10, [Rec(12, timestamp=int(clock.now * 1000))])[1] == 10
        clock.now += 0.5
    clock.now += 1.0
    kept, refetch = watch.screen("tp", 10, [Rec(12, timestamp=int(NOW * 1000))])
    assert offsets(kept) == [12] and refetch is None
    assert watch.accepted == 1 and watch._open == {}
    assert "offsets 10-11 did not appear" in caplog.text


def test_a_hole_before_an_old_record_is_not_waited_for() -> None:
    # compacted or deleted records on Apache Kafka: the log was written long ago
    clock = Clock()
    watch = HoleWatch(wait_s=2.0, clock=clock)
    old = int((NOW - 3600) * 1000)
    kept, refetch = watch.screen("tp", 10, [Rec(15, timestamp=old), Rec(16, timestamp=old), Rec(20, timestamp=old)])
    assert offsets(kept) == [15, 16, 20] and refetch is None
    assert watch.refetches == 0 and watch.accepted == 0


def test_holes_are_tracked_per_partition() -> None:
    watch = HoleWatch(clock=Clock())
    assert watch.screen("a", 5, [Rec(6)])[1] == 5
    assert offsets(watch.screen("b", 5, [Rec(5), Rec(6)])[0]) == [5, 6]
    assert list(watch._open) == [("a", 5)]


async def test_getone_is_refused_because_it_cannot_hold_records_back() -> None:
    consumer = GaplessConsumer(bootstrap_servers="127.0.0.1:1")
    with pytest.raises(NotImplementedError, match="getmany"):
        await consumer.getone()
