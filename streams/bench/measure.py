"""One measured phase: warm up at the offered rate, then hold it for the duration
while every process's CPU is metered."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tokenyard.streams.bench.cpu import ProcessMeter, Usage
from tokenyard.streams.bench.loadgen import LoadResult, Progress, run_open_loop
from tokenyard.streams.bench.schedule import Arrivals, arrival_offsets

LOADGEN = "loadgen"
WARMUP_INDEX_OFFSET = 10**12


def first_index_for(rate: float) -> int:
    """Disjoint index ranges per offered rate (a phase sends far fewer than 10**6 calls)."""
    return int(round(rate * 1000)) * 10**6


@dataclass(frozen=True)
class PhaseSpec:
    rate: float
    duration_s: float
    warmup_s: float
    arrivals: Arrivals = "poisson"
    seed: int = 0
    # Call indices (hence prompts) of the measured window start here; warm-up
    # uses a disjoint range, so no prompt repeats and nothing hits the cache.
    first_index: int = 0
    # How long calls may run on after the last one started before they are cut off.
    drain_timeout_s: float | None = None

    @property
    def warmup_first_index(self) -> int:
        return self.first_index + WARMUP_INDEX_OFFSET


@dataclass
class Phase:
    load: LoadResult
    usage: dict[str, Usage]  # per process name, measured window only
    cache_hits: int = 0  # replies served from the cache (pipeline phases)


async def run_phase(
    call: Callable[[int], Awaitable[object]],
    spec: PhaseSpec,
    pids: dict[str, int],
    *,
    on_progress: Callable[[str], Progress] | None = None,
    on_measure_start: Callable[[], None] | None = None,
) -> Phase:
    """Warm-up (discarded), then the measured window. ``on_progress(stage)`` gives
    a progress callback for ``"warm-up"`` and ``"measure"``; ``on_measure_start``
    runs between the two (e.g. to forget samples a call recorded during warm-up)."""
    def shifted(base: int) -> Callable[[int], Awaitable[object]]:
        return lambda index: call(base + index)

    if spec.warmup_s > 0:
        await run_open_loop(
            shifted(spec.warmup_first_index), arrival_offsets(spec.rate, spec.warmup_s, arrivals=spec.arrivals, seed=spec.seed + 1),
            offered_rps=spec.rate, duration_s=spec.warmup_s, drain_timeout_s=spec.drain_timeout_s,
            progress=on_progress("warm-up") if on_progress else None,
        )
    if on_measure_start is not None:
        on_measure_start()
    meter = ProcessMeter({**pids, LOADGEN: os.getpid()})
    meter.mark()
    load = await run_open_loop(
        shifted(spec.first_index), arrival_offsets(spec.rate, spec.duration_s, arrivals=spec.arrivals, seed=spec.seed),
        offered_rps=spec.rate, duration_s=spec.duration_s, drain_timeout_s=spec.drain_timeout_s,
        progress=on_progress("measure") if on_progress else None,
    )
    return Phase(load=load, usage=meter.window())
