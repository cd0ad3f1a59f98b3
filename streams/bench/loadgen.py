"""The open-loop driver: start each call when it is due, never waiting for replies.

Latency is measured from when a call was *due*, not from when the generator got
round to it, so a generator that falls behind shows up as latency instead of
quietly lowering the offered rate (coordinated omission). How late calls started
(``lag``) is recorded separately: a large lag means the load generator itself,
not the system under test, was the bottleneck.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from tokenyard.errors import ReplyTimeout
from tokenyard.streams.bench.stats import LatencySummary, summarize

Call = Callable[[int], Awaitable[object]]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]
Progress = Callable[[int, int, int], None]  # (started, finished, total)


@dataclass
class LoadResult:
    offered_rps: float
    duration_s: float
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    # From the first due time to the last call's end; longer than duration_s
    # when replies fell behind.
    elapsed_s: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def achieved_rps(self) -> float:
        return self.ok / max(self.elapsed_s, self.duration_s) if self.duration_s > 0 else 0.0

    def latency(self) -> LatencySummary:
        return summarize(self.latencies_ms)

    def lag(self) -> LatencySummary:
        return summarize(self.lag_ms)


def _error_kind(exc: BaseException) -> str:
    """The exception type, plus the gateway's error code for error replies."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__}:{code}" if isinstance(code, str) else type(exc).__name__


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (ReplyTimeout, TimeoutError, asyncio.TimeoutError))


async def run_open_loop(
    call: Call,
    offsets: Sequence[float],
    *,
    offered_rps: float,
    duration_s: float,
    clock: Clock = time.perf_counter,
    sleep: Sleep = asyncio.sleep,
    progress: Progress | None = None,
    drain_timeout_s: float | None = None,
) -> LoadResult:
    """Call ``call(i)`` at ``start + offsets[i]`` for every i; wait for all to end.

    A call that raises counts as an error (by exception type) or a timeout; it
    never stops the run. Calls still running ``drain_timeout_s`` after the last
    was started are cancelled and counted as timeouts, so a client that wedges
    (httpx's pool under overload) cannot hang the benchmark.
    """
    result = LoadResult(offered_rps=offered_rps, duration_s=duration_s)
    total = len(offsets)
    finished = 0
    start = clock()

    async def one(index: int, due: float) -> None:
        nonlocal finished
        try:
            await call(index)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed call is a data point, not a crash
            if _is_timeout(exc):
                result.timeouts += 1
            else:
                result.errors[_error_kind(exc)] += 1
        else:
            result.latencies_ms.append((clock() - due) * 1000.0)
        finally:
            finished += 1

    tasks: list[asyncio.Task[None]] = []
    for index, offset in enumerate(offsets):
        due = start + offset
        wait = due - clock()
        if wait > 0:
            await sleep(wait)
        result.lag_ms.append(max(0.0, clock() - due) * 1000.0)
        tasks.append(asyncio.ensure_future(one(index, due)))
        result.sent += 1
        if progress is not None and index % 64 == 0:
            progress(result.sent, finished, total)
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=drain_timeout_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        result.timeouts += len(pending)
    result.elapsed_s = clock() - start
    if progress is not None:
        progress(result.sent, finished, total)
    return result
