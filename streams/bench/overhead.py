"""`tokenyard bench overhead`: what the miss path (intake -> provider -> reply)
adds to each request, against a direct call to the same fake provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tokenyard.streams.bench.display import BenchDisplay
from tokenyard.streams.bench.measure import Phase, PhaseSpec, first_index_for, run_phase
from tokenyard.streams.bench.results import cost_table, document, latency_table, overhead_row
from tokenyard.streams.bench.rig import FAKE_MODEL, Rig, partition_sizes, wait_until_serving
from tokenyard.streams.bench.schedule import Arrivals
from tokenyard.streams.bench.targets import (
    AiohttpOpenAI, Messages, direct_http_client, openai_call, pipeline_call, prompt,
)


class LoadOptions(BaseModel):
    """What every load scenario shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rates: tuple[float, ...] = (50, 200, 500, 1000)
    duration_s: float = Field(default=10.0, gt=0)
    warmup_s: float = Field(default=3.0, ge=0)
    workers: int = Field(default=1, ge=1, le=16)
    with_sink: bool = True
    with_cache: bool = True
    concurrency: int = Field(default=256, ge=1, le=4096)
    arrivals: Arrivals = "poisson"
    timeout_s: float = Field(default=30.0, gt=0)
    seed: int = 0
    profile_dir: Path | None = None
    # The client of direct baseline calls: httpx (as the gateway uses) or aiohttp.
    # aiohttp by default: httpx's pool wedged the load generator at 500 req/s here
    # (CPU-bound in connection_pool._assign_requests_to_connections).
    direct_client: Literal["httpx", "aiohttp"] = "aiohttp"


def spec(options: LoadOptions, rate: float) -> PhaseSpec:
    return PhaseSpec(rate=rate, duration_s=options.duration_s, warmup_s=options.warmup_s,
                     arrivals=options.arrivals, seed=options.seed, first_index=first_index_for(rate),
                     drain_timeout_s=options.timeout_s + 5.0)


async def openai_phase(options: LoadOptions, rate: float, base_url: str, pids: dict[str, int], label: str,
                       display: BenchDisplay, api_key: str = "bench", messages_for: Messages = prompt) -> Phase:
    """Offered load straight to an OpenAI-compatible endpoint (the fake, or a peer gateway)."""
    label = f"{label:<9}{rate:>6.0f}/s ({options.direct_client})"
    progress = lambda stage: display.phase(f"{label} {stage}")  # noqa: E731
    if options.direct_client == "aiohttp":
        import aiohttp

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as session:
            call: Any = AiohttpOpenAI(session, base_url, FAKE_MODEL, timeout_s=options.timeout_s, api_key=api_key,
                                     messages_for=messages_for)
            return await run_phase(call, spec(options, rate), pids, on_progress=progress)
    async with direct_http_client() as http:
        call = openai_call(http, base_url, FAKE_MODEL, timeout_s=options.timeout_s, api_key=api_key,
                           messages_for=messages_for)
        return await run_phase(call, spec(options, rate), pids, on_progress=progress)


async def direct_phase(rig: Rig, options: LoadOptions, rate: float, display: BenchDisplay,
                       messages_for: Messages = prompt) -> Phase:
    return await openai_phase(options, rate, f"{rig.fake_url}/v1", {"fake": rig.pids()["fake"]}, "direct", display,
                              messages_for=messages_for)


async def pipeline_phase(rig: Rig, client: Any, options: LoadOptions, rate: float, display: BenchDisplay,
                         label: str = "tokenyard") -> Phase:
    """Also counts cache hits of the measured window in ``phase.cache_hits``."""
    cached = [0]
    call = pipeline_call(client, timeout_s=options.timeout_s, cached=cached)
    phase = await run_phase(
        call, spec(options, rate), rig.pids(),
        on_progress=lambda stage: display.phase(f"{label:<9}{rate:>6.0f}/s {stage}"),
        on_measure_start=lambda: cached.__setitem__(0, 0),
    )
    phase.cache_hits = cached[0]
    return phase


async def topic_sizes(rig: Rig) -> dict[str, list[int]]:
    names = rig.topics()
    assert rig.settings is not None
    return await partition_sizes(rig.settings.kafka.bootstrap, [names.requests, names.replies, names.usage])


def rig_for(options: LoadOptions, work_dir: Path, workers: int | None = None) -> Rig:
    return Rig(work_dir, workers=workers or options.workers, with_sink=options.with_sink,
               with_cache=options.with_cache, concurrency=options.concurrency, profile_dir=options.profile_dir)


async def run_overhead(options: LoadOptions, work_dir: Path, display: BenchDisplay) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with rig_for(options, work_dir) as rig:
        rig.start(display.say)
        async with rig.client() as client:
            took = await wait_until_serving(client, rig)
            display.say(f"pipeline answering after {took:.1f}s")
            for rate in options.rates:
                direct = await direct_phase(rig, options, rate, display)
                pipeline = await pipeline_phase(rig, client, options, rate, display)
                rows.append(overhead_row(rate, pipeline.load, pipeline.usage, direct.load, direct.usage))
                rows[-1]["cache_hits"] = pipeline.cache_hits
                dead = rig.dead()
                if dead:
                    display.say(f"[red]processes died: {', '.join(dead)}; stopping (logs in {rig.log_dir})")
                    break
        sizes = await topic_sizes(rig)
    return document("overhead", options.model_dump(mode="json"), rows, partition_sizes=sizes)


def show_overhead(doc: dict[str, Any], display: BenchDisplay) -> None:
    opts = doc["options"]
    display.table(
        f"tokenyard overhead: {opts['workers']} worker(s), sink {'on' if opts['with_sink'] else 'off'}, "
        f"{opts['arrivals']} arrivals, {opts['duration_s']:g}s per rate (latency ms)", *latency_table(doc["rows"]),
    )
    display.table("CPU seconds per 1,000 requests, per process", *cost_table(doc["rows"]))
    sizes = doc.get("partition_sizes") or {}
    for topic, counts in sizes.items():
        display.out.print(f"partition sizes {topic}: {counts} (total {sum(counts)})")
