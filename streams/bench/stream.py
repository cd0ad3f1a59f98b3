"""`tokenyard bench stream`: time to first chunk the pipeline adds to streamed
requests (client.stream yields Chunk events, then the Reply) vs direct SSE."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenyard.streams.bench.display import BenchDisplay
from tokenyard.streams.bench.measure import run_phase
from tokenyard.streams.bench.overhead import LoadOptions, rig_for, spec, topic_sizes
from tokenyard.streams.bench.results import cpu_per_1k, document, load_fields, others_cores
from tokenyard.streams.bench.rig import FAKE_MODEL, wait_until_serving
from tokenyard.streams.bench.stats import difference, summarize
from tokenyard.streams.bench.targets import direct_first_chunk, direct_http_client, pipeline_first_chunk


def stream_row(rate: float, pipeline: Any, pipeline_ttfc: list[float], direct: Any, direct_ttfc: list[float]) -> dict[str, Any]:
    """TTFC figures take the contract keys (``p50_ms``, ``p99_ms``...); whole-stream
    latencies are kept under ``complete_*``."""
    p, d = summarize(pipeline_ttfc), summarize(direct_ttfc)
    complete = {f"complete_{k}": v for k, v in load_fields(pipeline.load).items() if k.endswith("_ms")}
    row: dict[str, Any] = {"offered_rps": rate}
    row.update(load_fields(pipeline.load))
    row.update({
        "p50_ms": p.p50_ms, "p95_ms": p.p95_ms, "p99_ms": p.p99_ms, "max_ms": p.max_ms,
        "direct_achieved_rps": round(direct.load.achieved_rps, 1),
        "direct_p50_ms": d.p50_ms, "direct_p99_ms": d.p99_ms,
        "added_p50_ms": difference(p.p50_ms, d.p50_ms), "added_p99_ms": difference(p.p99_ms, d.p99_ms),
        "direct_errors": sum(direct.load.errors.values()), "direct_timeouts": direct.load.timeouts,
        "cpu_s_per_1k": cpu_per_1k(pipeline.usage, pipeline.load.ok),
        "others_cores": others_cores(pipeline.usage, pipeline.load.elapsed_s),
        **complete,
    })
    return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in row.items()}


async def run_stream(options: LoadOptions, work_dir: Path, display: BenchDisplay) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with rig_for(options, work_dir) as rig:
        rig.start(display.say)
        async with rig.client() as client, direct_http_client() as http:
            took = await wait_until_serving(client, rig)
            display.say(f"pipeline answering after {took:.1f}s")
            for rate in options.rates:
                direct_ttfc: list[float] = []
                direct = await run_phase(
                    direct_first_chunk(http, f"{rig.fake_url}/v1", FAKE_MODEL, timeout_s=options.timeout_s,
                                       first_chunk_ms=direct_ttfc),
                    spec(options, rate), {"fake": rig.pids()["fake"]},
                    on_progress=lambda stage: display.phase(f"direct SSE {rate:>5.0f}/s {stage}"),
                    on_measure_start=direct_ttfc.clear,
                )
                ttfc: list[float] = []
                pipeline = await run_phase(
                    pipeline_first_chunk(client, timeout_s=options.timeout_s, first_chunk_ms=ttfc),
                    spec(options, rate), rig.pids(),
                    on_progress=lambda stage: display.phase(f"tokenyard  {rate:>5.0f}/s {stage}"),
                    on_measure_start=ttfc.clear,
                )
                rows.append(stream_row(rate, pipeline, ttfc, direct, direct_ttfc))
        sizes = await topic_sizes(rig)
    return document("stream", options.model_dump(mode="json"), rows, partition_sizes=sizes)


def stream_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    from tokenyard.streams.bench.results import fmt

    headers = ["offered/s", "achieved/s", "TTFC p50", "TTFC p99", "direct p50", "direct p99",
               "added p50", "added p99", "whole p99", "err/timeout"]
    cells = [[
        fmt(r["offered_rps"], 0), fmt(r["achieved_rps"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]),
        fmt(r["direct_p50_ms"]), fmt(r["direct_p99_ms"]), fmt(r["added_p50_ms"]), fmt(r["added_p99_ms"]),
        fmt(r.get("complete_p99_ms")), f"{r.get('errors', 0)}/{r.get('timeouts', 0)}",
    ] for r in rows]
    return headers, cells


def show_stream(doc: dict[str, Any], display: BenchDisplay) -> None:
    display.table("tokenyard stream: time to first chunk (ms), pipeline vs direct SSE", *stream_table(doc["rows"]))
