"""`tokenyard bench peer`: the same offered load through LiteLLM's proxy and through
tokenyard, against the same fake provider, in one run, side by side.

Per offered rate the three are run one after another (direct, tokenyard,
LiteLLM), never at once, so none steals the others' CPU; both gateways stay
up throughout, idle while the other is measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenyard.streams.bench.cpu import OTHERS, Usage
from tokenyard.streams.bench.display import BenchDisplay
from tokenyard.streams.bench.litellm_proxy import LiteLLMProxy, ensure_venv, start_proxy
from tokenyard.streams.bench.measure import LOADGEN, Phase
from tokenyard.streams.bench.overhead import LoadOptions, direct_phase, openai_phase, pipeline_phase, rig_for, topic_sizes
from tokenyard.streams.bench.results import document, fmt, load_fields, others_cores, overhead_row
from tokenyard.streams.bench.rig import FAKE_MODEL, Rig, wait_until_serving
from tokenyard.streams.bench.stats import difference


def gateway_cpu_per_1k(usage: Mapping[str, Usage], requests: int, *, exclude: tuple[str, ...]) -> float | None:
    """CPU of every process of one gateway (not the load generator, the fake or
    anyone else) per 1,000 requests."""
    if requests <= 0:
        return None
    total = sum(u.cpu_s for name, u in usage.items() if name not in (*exclude, LOADGEN, OTHERS))
    return round(total / requests * 1000.0, 3)


def peer_row(rate: float, direct: Phase, tokenyard: Phase, litellm: Phase) -> dict[str, Any]:
    """The overhead row of tokenyard plus ``litellm_*`` figures against the same direct run."""
    row = overhead_row(rate, tokenyard.load, tokenyard.usage, direct.load, direct.usage)
    peer = load_fields(litellm.load, "litellm_")
    lat, base = litellm.load.latency(), direct.load.latency()
    peer["litellm_added_p50_ms"] = _r(difference(lat.p50_ms, base.p50_ms))
    peer["litellm_added_p99_ms"] = _r(difference(lat.p99_ms, base.p99_ms))
    peer["litellm_cpu_s_per_1k"] = gateway_cpu_per_1k(litellm.usage, litellm.load.ok, exclude=("fake",))
    peer["litellm_others_cores"] = others_cores(litellm.usage, litellm.load.elapsed_s)
    row["tokenyard_cpu_s_per_1k"] = gateway_cpu_per_1k(tokenyard.usage, tokenyard.load.ok, exclude=("fake",))
    row.update(peer)
    return row


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def peer_table(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    headers = [
        "offered/s", "direct p99",
        "tokenyard achieved/s", "tokenyard p50", "tokenyard p99", "tokenyard added p99", "tokenyard err/to",
        "tokenyard cpu s/1k",
        "litellm achieved/s", "litellm p50", "litellm p99", "litellm added p99", "litellm err/to",
        "litellm cpu s/1k",
    ]
    cells = [[
        fmt(r["offered_rps"], 0), fmt(r["direct_p99_ms"]),
        fmt(r["achieved_rps"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]), fmt(r["added_p99_ms"]),
        f"{r['errors']}/{r['timeouts']}", fmt(r.get("tokenyard_cpu_s_per_1k"), 2),
        fmt(r["litellm_achieved_rps"]), fmt(r["litellm_p50_ms"]), fmt(r["litellm_p99_ms"]),
        fmt(r["litellm_added_p99_ms"]), f"{r['litellm_errors']}/{r['litellm_timeouts']}",
        fmt(r.get("litellm_cpu_s_per_1k"), 2),
    ] for r in rows]
    return headers, cells


async def litellm_phase(proxy: LiteLLMProxy, rig: Rig, options: LoadOptions, rate: float,
                        display: BenchDisplay) -> Phase:
    return await openai_phase(options, rate, proxy.base_url, {"fake": rig.pids()["fake"], **proxy.pids()},
                              "litellm", display, api_key=proxy.api_key)


async def run_peer(options: LoadOptions, work_dir: Path, display: BenchDisplay, *, venv: Path,
                   litellm_workers: int = 1) -> dict[str, Any]:
    executable = ensure_venv(venv, display.say)
    rows: list[dict[str, Any]] = []
    with rig_for(options, work_dir) as rig:
        rig.start(display.say)
        display.say("starting the LiteLLM proxy")
        proxy = start_proxy(executable, work_dir, f"{rig.fake_url}/v1", FAKE_MODEL, workers=litellm_workers)
        try:
            async with rig.client() as client:
                took = await wait_until_serving(client, rig)
                display.say(f"tokenyard answering after {took:.1f}s")
                for rate in options.rates:
                    direct = await direct_phase(rig, options, rate, display)
                    tokenyard = await pipeline_phase(rig, client, options, rate, display)
                    litellm = await litellm_phase(proxy, rig, options, rate, display)
                    rows.append(peer_row(rate, direct, tokenyard, litellm))
        finally:
            proxy.stop()
        sizes = await topic_sizes(rig)
    doc_options = {**options.model_dump(mode="json"), "litellm_workers": litellm_workers}
    return document("peer", doc_options, rows, partition_sizes=sizes, litellm_version=_version(venv))


def _version(venv: Path) -> str | None:
    found = sorted(venv.glob("lib/python*/site-packages/litellm-*.dist-info"))
    return found[-1].name.removeprefix("litellm-").removesuffix(".dist-info") if found else None


def show_peer(doc: dict[str, Any], display: BenchDisplay) -> None:
    opts = doc["options"]
    display.table(
        f"tokenyard ({opts['workers']} worker(s), sink {'on' if opts['with_sink'] else 'off'}) vs LiteLLM proxy "
        f"{doc.get('litellm_version')} ({opts['litellm_workers']} worker(s)); latency ms, same fake, same run",
        *peer_table(doc["rows"]),
    )
