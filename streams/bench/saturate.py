"""`tokenyard bench saturate`: ramp the offered rate until p99 passes the limit or
replies fall behind; the last rate that held is the maximum sustainable rate.
Run for each worker count on a fresh broker."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tokenyard.streams.bench.display import BenchDisplay
from tokenyard.streams.bench.overhead import LoadOptions, rig_for, direct_phase, pipeline_phase, topic_sizes
from tokenyard.streams.bench.results import document, fmt, overhead_row, sustained
from tokenyard.streams.bench.rig import wait_until_serving


def ramp(start: float, factor: float, ceiling: float) -> list[float]:
    """``start``, ``start*factor``, ... up to ``ceiling``, rounded to whole req/s."""
    if start <= 0 or factor <= 1 or ceiling < start:
        raise ValueError("ramp needs start > 0, factor > 1 and ceiling >= start")
    rates, rate = [], start
    while rate <= ceiling:
        rates.append(float(round(rate)))
        rate *= factor
    return rates


def max_sustained(rows: Sequence[dict[str, Any]], *, p99_limit_ms: float) -> float | None:
    """The highest offered rate that held, counting only rates below the first that failed."""
    best = None
    for row in rows:
        if not sustained(row, p99_limit_ms=p99_limit_ms):
            break
        best = row["offered_rps"]
    return best


async def ramp_workers(workers: int, rates: list[float], options: LoadOptions, p99_limit_ms: float,
                       work_dir: Path, display: BenchDisplay) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    worker_options = options.model_copy(update={"workers": workers})
    with rig_for(options, work_dir / f"workers-{workers}", workers) as rig:
        rig.start(display.say)
        async with rig.client() as client:
            took = await wait_until_serving(client, rig)
            display.say(f"{workers} worker(s) answering after {took:.1f}s")
            for rate in rates:
                direct = await direct_phase(rig, worker_options, rate, display)
                pipeline = await pipeline_phase(rig, client, worker_options, rate, display, label=f"{workers}w")
                row = overhead_row(rate, pipeline.load, pipeline.usage, direct.load, direct.usage)
                row["workers"] = workers
                row["sustained"] = sustained(row, p99_limit_ms=p99_limit_ms)
                rows.append(row)
                if not row["sustained"] or rig.dead():
                    break
        sizes = await topic_sizes(rig)
    return {
        "workers": workers,
        "max_sustained_rps": max_sustained(rows, p99_limit_ms=p99_limit_ms),
        "loadgen_limited": any(r["loadgen_saturated"] for r in rows),
        "rows": rows,
        "partition_sizes": sizes,
    }


async def run_saturate(options: LoadOptions, work_dir: Path, display: BenchDisplay, *,
                       worker_counts: Sequence[int], rates: list[float], p99_limit_ms: float) -> dict[str, Any]:
    ramps = [await ramp_workers(n, rates, options, p99_limit_ms, work_dir, display) for n in worker_counts]
    rows = [row for r in ramps for row in r["rows"]]
    summary = [{k: r[k] for k in ("workers", "max_sustained_rps", "loadgen_limited")} for r in ramps]
    return document(
        "saturate", {**options.model_dump(mode="json"), "p99_limit_ms": p99_limit_ms, "ramp": rates},
        rows, summary=summary, partition_sizes={str(r["workers"]): r["partition_sizes"] for r in ramps},
    )


def show_saturate(doc: dict[str, Any], display: BenchDisplay) -> None:
    limit = doc["options"]["p99_limit_ms"]
    headers = ["workers", "offered/s", "achieved/s", "p50 ms", "p99 ms", "added p99", "err/timeout",
               "held", "loadgen busy"]
    cells = [[
        str(r["workers"]), fmt(r["offered_rps"], 0), fmt(r["achieved_rps"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]),
        fmt(r["added_p99_ms"]), f"{r['errors']}/{r['timeouts']}", fmt(r["sustained"]), fmt(r["loadgen_saturated"]),
    ] for r in doc["rows"]]
    display.table(f"tokenyard saturate: ramp until p99 > {limit:g} ms or replies fall behind", headers, cells)
    for s in doc["summary"]:
        note = " (the load generator was saturated: the pipeline may hold more)" if s["loadgen_limited"] else ""
        display.out.print(f"{s['workers']} worker(s): max sustainable {fmt(s['max_sustained_rps'], 0)} req/s{note}")
