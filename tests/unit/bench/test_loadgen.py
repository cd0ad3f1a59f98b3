"""The open-loop driver, on a fake clock: no sleeps, no timing assertions."""

import asyncio

import pytest

from tokenyard.errors import RemoteError, ReplyTimeout
from tokenyard.streams.bench.loadgen import run_open_loop


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)  # calls already started run before time moves on
        self.now += seconds


async def test_calls_start_when_due_without_waiting_for_replies():
    clock = FakeClock()
    started_at: dict[int, float] = {}
    release = asyncio.Event()

    async def call(index: int) -> None:
        started_at[index] = clock.now
        await release.wait()  # nobody answers until every call has started

    async def answer_later() -> None:
        while len(started_at) < 3:
            await asyncio.sleep(0)
        clock.now += 0.050
        release.set()

    helper = asyncio.ensure_future(answer_later())
    result = await run_open_loop(call, [0.0, 0.01, 0.02], offered_rps=100, duration_s=0.03,
                                 clock=clock, sleep=clock.sleep)
    await helper
    assert started_at == {0: pytest.approx(100.0), 1: pytest.approx(100.01), 2: pytest.approx(100.02)}
    assert result.sent == 3 and result.ok == 3
    # latency from each call's due time to the shared answer at 100.07
    assert sorted(result.latencies_ms) == pytest.approx([50.0, 60.0, 70.0])
    assert result.elapsed_s == pytest.approx(0.07)
    assert result.achieved_rps == pytest.approx(3 / 0.07)


async def test_a_late_generator_is_measured_as_lag_and_as_latency():
    clock = FakeClock()

    async def slow_to_start(seconds: float) -> None:
        await asyncio.sleep(0)
        clock.now += seconds + 0.030  # the loop wakes 30 ms late every time

    async def call(index: int) -> None:
        return None

    result = await run_open_loop(call, [0.0, 0.1], offered_rps=20, duration_s=0.1,
                                 clock=clock, sleep=slow_to_start)
    assert result.lag_ms == pytest.approx([0.0, 30.0])
    # the second call's latency counts from when it was due, so the lag is in it
    assert sorted(result.latencies_ms) == pytest.approx([0.0, 30.0])


async def test_failures_are_counted_not_raised():
    clock = FakeClock()

    async def call(index: int) -> None:
        if index == 1:
            raise ReplyTimeout("no reply")
        if index == 2:
            raise asyncio.TimeoutError()
        if index == 3:
            raise ConnectionResetError("boom")
        if index == 4:
            raise RemoteError("provider_timeout", "slow", retriable=True, request_id="r4")

    result = await run_open_loop(call, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0], offered_rps=5, duration_s=1.0,
                                 clock=clock, sleep=clock.sleep)
    assert result.sent == 6
    assert result.ok == 2
    assert result.timeouts == 2
    assert dict(result.errors) == {"ConnectionResetError": 1, "RemoteError:provider_timeout": 1}


async def test_progress_reports_final_counts():
    clock = FakeClock()
    seen: list[tuple[int, int, int]] = []

    async def call(index: int) -> None:
        return None

    await run_open_loop(call, [0.0, 0.5], offered_rps=2, duration_s=1.0, clock=clock, sleep=clock.sleep,
                        progress=lambda *args: seen.append(args))
    assert seen[-1] == (2, 2, 2)
    # achieved rate never exceeds what the duration allows
    assert clock.slept == [pytest.approx(0.5)]


async def test_calls_that_never_end_are_cut_off_as_timeouts():
    async def call(index: int) -> None:
        if index == 1:
            await asyncio.Event().wait()  # wedged forever

    result = await run_open_loop(call, [0.0, 0.0, 0.0], offered_rps=3, duration_s=1.0, drain_timeout_s=0.01)
    assert result.ok == 2
    assert result.timeouts == 1
