"""`tokenyard bench`: benchmark scenarios, one subcommand each, plus `all`.

Every scenario starts its own fresh processes on loopback, shows progress on
stderr, prints a table (or, with ``--json``, one JSON object) and writes the JSON
to ``benchmarks/results/``. Adding a scenario is one function: a click command
decorated with ``@scenario_options`` that builds its document and calls
:func:`finish`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import orjson

from tokenyard.errors import TokenyardError

RESULTS_DIR = Path("benchmarks/results")
WORK_DIR = Path(".tokenyard/bench")


def _rates(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, ...]:
    from tokenyard.streams.bench.schedule import parse_rates

    try:
        return tuple(parse_rates(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def scenario_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options every scenario takes: output and where to keep logs."""
    fn = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")(fn)
    fn = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help=f"Write the JSON here (default: {RESULTS_DIR}/<scenario>-<time>.json).")(fn)
    return fn


def load_options(default_rates: str, duration: float = 10.0, warmup: float = 3.0) -> Callable[..., Any]:
    """Options of scenarios that hold offered rates through the pipeline."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed([
            click.option("--rates", default=default_rates, show_default=True, callback=_rates,
                         help="Offered rates in req/s, comma separated (1k = 1000)."),
            click.option("--duration", type=float, default=duration, show_default=True,
                         help="Seconds each rate is held and measured, after warm-up."),
            click.option("--warmup", type=float, default=warmup, show_default=True,
                         help="Seconds at each rate before measuring (discarded)."),
            click.option("--workers", type=int, default=1, show_default=True, help="Gateway worker processes."),
            click.option("--sink/--no-sink", "with_sink", default=True, show_default=True,
                         help="Run the usage sink (ClickHouse) as in the real pipeline."),
            click.option("--cache/--no-cache", "with_cache", default=True, show_default=True,
                         help="Run the cache lookup stage (prompts are distinct, so it misses)."),
            click.option("--concurrency", type=int, default=256, show_default=True,
                         help="In-flight requests per worker (worker.concurrency)."),
            click.option("--arrivals", type=click.Choice(["poisson", "fixed"]), default="poisson", show_default=True,
                         help="Open-loop arrival process."),
            click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True,
                         help="Seconds a call may take before it counts as a timeout."),
            click.option("--direct-client", type=click.Choice(["httpx", "aiohttp"]), default="aiohttp",
                         show_default=True,
                         help="HTTP client of the direct baseline (httpx's pool wedges under overload here)."),
            click.option("--profile", "profile_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                         help="Run workers under cProfile; stats land in this folder when they stop."),
        ]):
            fn = option(fn)
        return fn

    return decorate


def _load(kw: dict[str, Any]) -> Any:
    from tokenyard.streams.bench.overhead import LoadOptions

    return LoadOptions(
        rates=kw.pop("rates"), duration_s=kw.pop("duration"), warmup_s=kw.pop("warmup"),
        workers=kw.pop("workers"), with_sink=kw.pop("with_sink"), with_cache=kw.pop("with_cache"), concurrency=kw.pop("concurrency"),
        arrivals=kw.pop("arrivals"), timeout_s=kw.pop("timeout_s"), profile_dir=kw.pop("profile_dir"),
        direct_client=kw.pop("direct_client"),
    )


def _work_dir(scenario: str) -> Path:
    return (WORK_DIR / f"{scenario}-{time.strftime('%Y%m%d-%H%M%S')}").resolve()


def run_scenario(
    scenario: str,
    as_json: bool,
    out: Path | None,
    build: Callable[[Path, Any], Any],
    show: Callable[[dict[str, Any], Any], None],
) -> dict[str, Any]:
    """Run ``build(work_dir, display)`` (a coroutine giving the document), then print and save it."""
    from tokenyard.streams.bench.display import BenchDisplay
    from tokenyard.streams.bench.results import code_version, write_result

    display = BenchDisplay(tables_to_stdout=not as_json)
    try:
        with display.running():
            doc = asyncio.run(build(_work_dir(scenario), display))
    except TokenyardError as exc:
        click.echo(f"tokenyard bench {scenario}: {exc.message}", err=True)
        sys.exit(1)
    doc.setdefault("code", code_version())
    path = write_result(doc, out, RESULTS_DIR)
    if as_json:
        click.echo(orjson.dumps(doc).decode())
    else:
        show(doc, display)
    click.echo(f"results: {path}", err=True)
    return doc


@click.group()
def bench() -> None:
    """Measure what tokenyard adds to a request, on this machine.

    Each scenario starts a fresh tansu broker, a zero-latency fake provider in its
    own process and the gateway workers, holds open-loop offered rates and compares
    against direct calls to the same fake in the same run.
    """


@bench.command()
@load_options("50,200,500,1000")
@scenario_options
def overhead(as_json: bool, out: Path | None, **kw: Any) -> None:
    """The miss path (intake -> provider -> reply) vs a direct httpx call."""
    from tokenyard.streams.bench.overhead import run_overhead, show_overhead

    options = _load(kw)
    run_scenario("overhead", as_json, out, lambda wd, d: run_overhead(options, wd, d), show_overhead)


@bench.command()
@load_options("20,100,200")
@scenario_options
def stream(as_json: bool, out: Path | None, **kw: Any) -> None:
    """Time to first chunk of streamed requests vs direct SSE to the fake."""
    from tokenyard.streams.bench.stream import run_stream, show_stream

    options = _load(kw)
    run_scenario("stream", as_json, out, lambda wd, d: run_stream(options, wd, d), show_stream)


def _hits_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--semantic-rates", default="50,200", show_default=True, callback=_rates,
                     help="Offered rates of the semantic path (--rates is the exact path's)."),
        click.option("--paths", type=click.Choice(["both", "exact", "semantic"]), default="both", show_default=True,
                     help="Which hit paths to measure."),
        click.option("--pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=Path("tests/data/cache_pairs_dev2.jsonl"), show_default=True,
                     help="Labelled pairs; the 'hit' pairs' a is primed, b is asked."),
        click.option("--exact-pool", type=click.IntRange(1, 100_000), default=256, show_default=True,
                     help="Distinct prompts primed and then asked again verbatim."),
    ]):
        fn = option(fn)
    return fn


@bench.command()
@load_options("200,1000,2000")
@_hits_options
@scenario_options
def hits(as_json: bool, out: Path | None, semantic_rates: tuple[float, ...], paths: str, pairs: Path, exact_pool: int,
         **kw: Any) -> None:
    """The exact-hit and semantic-hit paths vs a direct call, after a prime phase
    stores the prompts; the hit ratio comes from the replies' cache flags."""
    from tokenyard.streams.bench.hits import run_hits, show_hits

    semantic = semantic_rates if paths != "exact" else ()
    if paths == "semantic":
        kw["rates"] = ()
    options = _load(kw)
    run_scenario("hits", as_json, out, lambda wd, d: run_hits(
        options, wd, d, semantic_rates=semantic, pairs_path=pairs.resolve(), exact_pool=exact_pool), show_hits)


LITELLM_VENV = WORK_DIR / "litellm-venv"


def _peer_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--litellm-workers", type=int, default=1, show_default=True,
                      help="LiteLLM proxy worker processes (--num_workers).")(fn)
    fn = click.option("--litellm-venv", type=click.Path(file_okay=False, path_type=Path), default=LITELLM_VENV,
                      show_default=True, help="Virtualenv for LiteLLM (created and installed on first use).")(fn)
    return fn


@bench.command()
@load_options("50,100,200,500,1000")
@_peer_options
@scenario_options
def peer(as_json: bool, out: Path | None, litellm_venv: Path, litellm_workers: int, **kw: Any) -> None:
    """The same offered load through LiteLLM's proxy and through tokenyard, side by side.

    LiteLLM is installed from PyPI into its own virtualenv the first time (a few
    minutes) and runs with its bundled price map (LITELLM_LOCAL_MODEL_COST_MAP=True).
    """
    from tokenyard.streams.bench.peer import run_peer, show_peer

    options = _load(kw)
    venv = litellm_venv.resolve()
    run_scenario("peer", as_json, out,
                 lambda wd, d: run_peer(options, wd, d, venv=venv, litellm_workers=litellm_workers), show_peer)


def _saturate_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.option("--start", type=float, default=200.0, show_default=True, help="First offered rate (req/s)."),
        click.option("--factor", type=float, default=1.3, show_default=True, help="Each step multiplies the rate by this."),
        click.option("--ceiling", type=float, default=4000.0, show_default=True, help="Highest rate tried."),
        click.option("--p99-limit", type=float, default=250.0, show_default=True, help="A rate holds while p99 stays under this (ms)."),
        click.option("--worker-counts", default="1,2", show_default=True, help="Worker counts to ramp, each on a fresh broker."),
    ]):
        fn = option(fn)
    return fn


@bench.command()
@load_options("200", duration=5.0, warmup=2.0)
@_saturate_options
@scenario_options
def saturate(as_json: bool, out: Path | None, start: float, factor: float, ceiling: float, p99_limit: float,
             worker_counts: str, **kw: Any) -> None:
    """Ramp the offered rate until p99 passes the limit or replies fall behind;
    report the maximum sustainable rate per worker count (--rates is ignored)."""
    from tokenyard.streams.bench.saturate import ramp, run_saturate, show_saturate

    kw["rates"] = (start,)
    options = _load(kw)
    try:
        rates = ramp(start, factor, ceiling)
        counts = [int(c) for c in worker_counts.split(",") if c.strip()]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    run_scenario("saturate", as_json, out, lambda wd, d: run_saturate(
        options, wd, d, worker_counts=counts, rates=rates, p99_limit_ms=p99_limit), show_saturate)


@bench.command(name="all")
@click.option("--duration", type=float, default=10.0, show_default=True, help="Seconds per rate in every scenario.")
@click.option("--warmup", type=float, default=3.0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per scenario, one per line.")
@click.pass_context
def all_(ctx: click.Context, duration: float, warmup: float, as_json: bool) -> None:
    """Every scenario in turn with its default rates: overhead, hits, stream, peer, saturate."""
    common = {"duration": duration, "warmup": warmup, "as_json": as_json}
    ctx.invoke(overhead, rates=(50, 200, 500, 1000), **common)
    ctx.invoke(hits, rates=(200, 1000, 2000), semantic_rates=(50, 200), **common)
    ctx.invoke(stream, rates=(20, 100, 200), **common)
    ctx.invoke(peer, rates=(50, 100, 200, 500, 1000), **common)
    ctx.invoke(saturate, as_json=as_json, duration=min(duration, 5.0), warmup=min(warmup, 2.0))
