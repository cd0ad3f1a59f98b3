from __future__ import annotations

import pytest
from pydantic import ValidationError

from tokenyard.analytics.sink import BatchBuffer, BatchSettings, RetryPolicy


def test_batch_is_due_at_max_rows(make_events):
    buffer = BatchBuffer(BatchSettings(max_rows=3, max_age_s=60))
    events = make_events(3)
    for offset, event in enumerate(events[:2]):
        buffer.add(event, now=100.0, partition=0, offset=offset)
        assert not buffer.is_due(100.0)
    buffer.add(events[2], now=100.0, partition=0, offset=2)
    assert buffer.is_due(100.0)
    assert buffer.seconds_until_due(100.0) == 0.0


def test_batch_is_due_at_max_age_of_its_first_value(make_events):
    buffer = BatchBuffer(BatchSettings(max_rows=100, max_age_s=2))
    assert buffer.seconds_until_due(0.0) is None and not buffer.is_due(1e9)
    buffer.add(make_events(1)[0], now=10.0)
    buffer.add(make_events(1)[0], now=11.5)
    assert buffer.seconds_until_due(11.5) == pytest.approx(0.5)
    assert not buffer.is_due(11.9)
    assert buffer.is_due(12.0)


def test_take_returns_events_poison_and_next_offsets_then_resets(make_events):
    buffer = BatchBuffer(BatchSettings(max_rows=10))
    events = make_events(2)
    buffer.add(events[0], now=1.0, partition=("usage", 0), offset=41)
    buffer.add(b"{broken", now=1.0, partition=("usage", 0), offset=42)
    buffer.add(events[1], now=1.0, partition=("usage", 1), offset=7)
    batch = buffer.take()
    assert batch.events == (events[0], events[1])
    assert [(row.position, row.error.code) for row in batch.poison] == [
        ((("usage", 0), 42), "malformed_event")
    ]
    assert batch.offsets == {("usage", 0): 43, ("usage", 1): 8}  # poison is committed past
    assert len(batch) == 3 and batch.opened_at == 1.0
    assert len(buffer) == 0 and buffer.take().offsets == {}


def test_batch_settings_reject_unknown_keys_and_bad_values():
    with pytest.raises(ValidationError, match="max_rowz"):
        BatchSettings(max_rowz=5)
    with pytest.raises(ValidationError, match="max_rows"):
        BatchSettings(max_rows=0)


def test_retry_delays_grow_exponentially_and_are_capped():
    policy = RetryPolicy(initial_s=0.5, multiplier=2, max_s=5)
    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(10_000) == 5.0


def test_retry_after_from_clickhouse_is_honoured_up_to_the_cap():
    policy = RetryPolicy(initial_s=0.5, max_s=5)
    assert policy.delay(1, retry_after=3.0) == 3.0
    assert policy.delay(1, retry_after=60.0) == 5.0


def test_jitter_spreads_around_the_base_within_bounds():
    policy = RetryPolicy(initial_s=1, multiplier=2, max_s=100, jitter=0.5)
    assert policy.delay(3, random_fraction=0.0) == 2.0
    assert policy.delay(3, random_fraction=1.0) == 6.0
    assert policy.delay(3, random_fraction=0.5) == 4.0


def test_failures_count_from_one():
    with pytest.raises(ValueError, match="from 1"):
        RetryPolicy().delay(0)
