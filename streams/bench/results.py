"""Shaping measurements into result rows, tables and the JSON document.

Pure: no I/O but :func:`write_result`. Row keys are the contract of ``--json``:
every row has at least ``offered_rps``, ``achieved_rps``, ``p50_ms``, ``p99_ms``,
``direct_p99_ms`` and ``added_p99_ms``.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from tokenyard.streams.bench.cpu import OTHERS, Usage
from tokenyard.streams.bench.loadgen import LoadResult
from tokenyard.streams.bench.measure import LOADGEN
from tokenyard.streams.bench.stats import difference

# A generator using more than this share of a core, or starting calls this late,
# limited the offered rate itself: say so instead of blaming the pipeline.
LOADGEN_BUSY_CORE_SHARE = 0.9
LOADGEN_LATE_P99_MS = 20.0

REQUIRED_ROW_KEYS = ("offered_rps", "achieved_rps", "p50_ms", "p99_ms", "direct_p99_ms", "added_p99_ms")


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def load_fields(load: LoadResult, prefix: str = "") -> dict[str, Any]:
    lat = load.latency()
    return {
        # What the random schedule really offered (Poisson counts vary around the rate).
        f"{prefix}scheduled_rps": _r(load.sent / load.duration_s if load.duration_s > 0 else 0.0, 1),
        f"{prefix}achieved_rps": _r(load.achieved_rps, 1),
        f"{prefix}sent": load.sent,
        f"{prefix}ok": load.ok,
        f"{prefix}errors": sum(load.errors.values()),
        f"{prefix}error_kinds": dict(load.errors),
        f"{prefix}timeouts": load.timeouts,
        f"{prefix}p50_ms": _r(lat.p50_ms),
        f"{prefix}p95_ms": _r(lat.p95_ms),
        f"{prefix}p99_ms": _r(lat.p99_ms),
        f"{prefix}max_ms": _r(lat.max_ms),
    }


def cpu_per_1k(usage: Mapping[str, Usage], requests: int) -> dict[str, float | None]:
    return {name: _r(u.per_1k(requests), 3) for name, u in usage.items() if name != OTHERS}


def others_cores(usage: Mapping[str, Usage], elapsed_s: float) -> float | None:
    """Cores' worth of CPU the rest of the machine used during the window (a shared
    box: above ~0.2 the latencies are inflated by someone else)."""
    other = usage.get(OTHERS)
    return None if other is None or elapsed_s <= 0 else _r(other.cpu_s / elapsed_s, 2)


def loadgen_verdict(load: LoadResult, usage: Mapping[str, Usage]) -> dict[str, Any]:
    """How busy the load generator was, and whether that capped the offered rate."""
    gen = usage.get(LOADGEN)
    core_share = None if gen is None else gen.cpu_s / max(load.elapsed_s, 1e-9)
    late_p99 = load.lag().p99_ms
    saturated = bool(
        (core_share is not None and core_share >= LOADGEN_BUSY_CORE_SHARE)
        or (late_p99 is not None and late_p99 >= LOADGEN_LATE_P99_MS)
    )
    return {
        "loadgen_core_share": _r(core_share, 3),
        "loadgen_late_p99_ms": _r(late_p99),
        "loadgen_saturated": saturated,
    }


def overhead_row(
    offered_rps: float,
    pipeline: LoadResult,
    pipeline_usage: Mapping[str, Usage],
    direct: LoadResult,
    direct_usage: Mapping[str, Usage],
) -> dict[str, Any]:
    """One offered rate: pipeline figures, direct figures, and what the pipeline added."""
    row: dict[str, Any] = {"offered_rps": offered_rps}
    row.update(load_fields(pipeline))
    row.update(load_fields(direct, "direct_"))
    p, d = pipeline.latency(), direct.latency()
    row["added_p50_ms"] = _r(difference(p.p50_ms, d.p50_ms))
    row["added_p99_ms"] = _r(difference(p.p99_ms, d.p99_ms))
    row["cpu_s_per_1k"] = cpu_per_1k(pipeline_usage, pipeline.ok)
    row["direct_cpu_s_per_1k"] = cpu_per_1k(direct_usage, direct.ok)
    row["others_cores"] = others_cores(pipeline_usage, pipeline.elapsed_s)
    row["direct_others_cores"] = others_cores(direct_usage, direct.elapsed_s)
    row["worker_rss_mb"] = {n: _r(u.rss_mb, 1) for n, u in pipeline_usage.items() if n.startswith("worker")}
    row.update(loadgen_verdict(pipeline, pipeline_usage))
    return row


def sustained(row: Mapping[str, Any], *, p99_limit_ms: float, min_share: float = 0.95) -> bool:
    """Did the pipeline keep up: p99 under the limit, replies not behind (achieved
    against what the schedule really offered), nothing lost?"""
    p99 = row.get("p99_ms")
    sent = row.get("sent") or 0
    failed = (row.get("errors") or 0) + (row.get("timeouts") or 0)
    return (
        p99 is not None
        and p99 <= p99_limit_ms
        and row.get("achieved_rps", 0) >= min_share * row.get("scheduled_rps", row["offered_rps"])
        and failed <= 0.001 * max(sent, 1)
    )


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def latency_table(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the end-of-run latency table (pipeline vs direct)."""
    headers = [
        "offered/s", "achieved/s", "p50 ms", "p95 ms", "p99 ms", "max ms",
        "direct p50", "direct p99", "added p50", "added p99", "err/timeout", "cache hits",
    ]
    cells = [
        [
            fmt(row["offered_rps"], 0), fmt(row["achieved_rps"]), fmt(row["p50_ms"]), fmt(row.get("p95_ms")),
            fmt(row["p99_ms"]), fmt(row.get("max_ms")), fmt(row.get("direct_p50_ms")), fmt(row["direct_p99_ms"]),
            fmt(row.get("added_p50_ms")), fmt(row["added_p99_ms"]),
            f"{row.get('errors', 0)}/{row.get('timeouts', 0)}", fmt(row.get("cache_hits")),
        ]
        for row in rows
    ]
    return headers, cells


def cost_table(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the CPU table: seconds per 1,000 requests per process."""
    processes = sorted({name for row in rows for name in row.get("cpu_s_per_1k", {})})
    headers = [
        "offered/s", *processes, "worker RSS MB", "loadgen late p99", "loadgen busy", "others' cores",
    ]
    cells = [
        [
            fmt(row["offered_rps"], 0),
            *[fmt(row.get("cpu_s_per_1k", {}).get(n), 3) for n in processes],
            " ".join(fmt(v, 0) for v in row.get("worker_rss_mb", {}).values()) or "-",
            fmt(row.get("loadgen_late_p99_ms")),
            fmt(row.get("loadgen_saturated")),
            fmt(row.get("others_cores"), 2),
        ]
        for row in rows
    ]
    return headers, cells


def document(scenario: str, options: Mapping[str, Any], rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    for row in rows:
        missing = [k for k in REQUIRED_ROW_KEYS if k not in row]
        if missing:
            raise ValueError(f"{scenario} row for {row.get('offered_rps')} req/s lacks {', '.join(missing)}")
    return {
        "scenario": scenario,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "options": dict(options),
        "rows": rows,
        **extra,
    }


def code_version(repo: Path = Path(".")) -> dict[str, Any]:
    """The commit measured, and whether the working tree differed from it (the
    pipeline changes under a benchmark in a shared checkout)."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "dirty_paths": len(git("status", "--porcelain", "--untracked-files=no").splitlines())}


def write_result(doc: Mapping[str, Any], out: Path | None, results_dir: Path) -> Path:
    """Write ``doc`` to ``out`` or ``results_dir/<scenario>-<time>.json``."""
    if out is None:
        results_dir.mkdir(parents=True, exist_ok=True)
        out = results_dir / f"{doc['scenario']}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return out
