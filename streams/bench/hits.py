"""`tokenyard bench hits`: what the pipeline adds when the cache answers.

Two paths, one table:

* ``exact``: requests identical to ones stored during a prime phase, so the
  lookup stage finds them by exact key without an embedding;
* ``semantic``: paraphrases of primed prompts (the ``hit`` pairs of a labelled
  pair file) that are answered through embedding, nearest-neighbour search and
  the verifier. Only paraphrases seen to hit the original's entry at prime time
  are used. Each semantic rate gets tenants of its own, primed afresh: a
  paraphrase that misses once (the worker declines to embed when saturated) is
  stored under its own exact key, and later rates must not inherit that.

Every reply is classified (:func:`classify`): a hit on the primed entry, a hit on
some other entry (a paraphrase that once missed is stored under its own exact key
and later hits *that* — cached, but not the semantic path), or a miss. The rows
report the hit ratio from those counts, so a miss cannot pass as a hit.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from tokenyard.cache.quality import load_pairs
from tokenyard.errors import ConfigError
from tokenyard.schemas.records import Reply
from tokenyard.streams.bench.display import BenchDisplay
from tokenyard.streams.bench.measure import Phase, run_phase
from tokenyard.streams.bench.overhead import LoadOptions, direct_phase, rig_for, spec, topic_sizes
from tokenyard.streams.bench.results import cost_table, document, fmt, latency_table, overhead_row
from tokenyard.streams.bench.rig import REQUEST_PARTITIONS, TENANTS, Rig, wait_until_serving
from tokenyard.streams.bench.stats import summarize
from tokenyard.streams.bench.targets import prompt
from tokenyard.streams.bench.tenants import balanced_tenants

HitPath = Literal["exact", "semantic"]
Outcome = Literal["hit", "other_hit", "miss"]
#: (question, tenant) -> the reply; the client in a run, a fake in tests.
Ask = Callable[[str, str], Awaitable[Reply]]

# Exact-pool prompts come from an index range no other scenario or phase uses.
EXACT_POOL_FIRST_INDEX = 7 * 10**15


@dataclass(frozen=True)
class Probe:
    """A stored question and what measured requests ask to get it back."""

    original: str  # sent during the prime phase, so the cache stores its answer
    question: str  # what measured requests ask: the original itself, or a paraphrase
    tenant: str  # cache scopes are per tenant: prime and probe under the same one
    entry_id: str = ""  # the original's cache entry, learnt when a repeat came back cached


def messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def exact_probes(count: int) -> list[Probe]:
    """``count`` distinct random-word prompts, each asked again verbatim."""
    probes = []
    for i in range(count):
        text = prompt(EXACT_POOL_FIRST_INDEX + i)[0]["content"]
        probes.append(Probe(original=text, question=text, tenant=TENANTS[i % len(TENANTS)]))
    return probes


def semantic_probes(pairs_path: Path, tenants: Sequence[str] = TENANTS) -> list[Probe]:
    """The ``hit`` pairs of a labelled pair file: store ``a``, ask ``b``."""
    pairs = [p for p in load_pairs(pairs_path) if p.label == "hit"]
    if not pairs:
        raise ConfigError(f"{pairs_path} has no pairs labelled 'hit'")
    return [Probe(original=p.a, question=p.b, tenant=tenants[i % len(tenants)]) for i, p in enumerate(pairs)]


def fresh_tenants(generation: int) -> tuple[str, ...]:
    """Tenants (hence cache scopes) no earlier phase used, spread over every partition."""
    return balanced_tenants(REQUEST_PARTITIONS, prefix=f"hits{generation}")


def classify(reply: Reply, probe: Probe) -> Outcome:
    """A hit counts only when it served the probe's primed entry."""
    if not reply.cached:
        return "miss"
    return "hit" if reply.cache_entry_id == probe.entry_id else "other_hit"


async def _each(items: Sequence[Probe], work: Callable[[Probe], Awaitable[Any]], concurrency: int) -> list[Any]:
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Probe) -> Any:
        async with gate:
            return await work(item)

    return await asyncio.gather(*(one(item) for item in items))


async def prime(
    ask: Ask,
    probes: Sequence[Probe],
    *,
    concurrency: int,
    timeout_s: float = 60.0,
    poll_s: float = 0.25,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> tuple[list[Probe], int]:
    """Send every original once, then repeat the ones not yet answered from the cache
    until they are (the reply goes out before the entry is stored and read back).

    Returns the probes with their entry ids, and how many never came back cached.
    Low ``concurrency`` matters for the semantic pool: a worker declines to embed
    past 16 pending texts and such an entry would serve exact hits only.
    """
    await _each(probes, lambda p: ask(p.original, p.tenant), concurrency)
    pending = list(probes)
    stored: list[Probe] = []
    deadline = clock() + timeout_s
    while pending:
        replies = await _each(pending, lambda p: ask(p.original, p.tenant), concurrency)
        still = []
        for probe, reply in zip(pending, replies, strict=True):
            if reply.cached and reply.cache_entry_id:
                stored.append(replace(probe, entry_id=reply.cache_entry_id))
            else:
                still.append(probe)
        pending = still
        if not pending or clock() >= deadline:
            break
        await sleep(poll_s)
    return stored, len(pending)


async def keep_hitting(ask: Ask, probes: Sequence[Probe], *, concurrency: int) -> tuple[list[Probe], Counter[str]]:
    """Ask each probe's question once; keep the probes whose question hit its own
    primed entry. (One that missed is now stored under its own key: dropped.)"""
    replies = await _each(probes, lambda p: ask(p.question, p.tenant), concurrency)
    outcomes: Counter[str] = Counter()
    kept = []
    for probe, reply in zip(probes, replies, strict=True):
        outcome = classify(reply, probe)
        outcomes[outcome] += 1
        if outcome == "hit":
            kept.append(probe)
    return kept, outcomes


def hits_row(path: HitPath, rate: float, pipeline: Phase, direct: Phase, outcomes: Counter[str], pool: int,
             hit_ms: Sequence[float] = ()) -> dict[str, Any]:
    """An overhead row plus the hit accounting: ``hit_ratio`` is primed-entry hits
    over every measured request sent (errors and timeouts included). ``hit_ms`` are
    the primed-entry hits' latencies from when each call started (not when it was
    due), so a row mixing hits and misses still shows what a hit costs."""
    row = {"path": path, **overhead_row(rate, pipeline.load, pipeline.usage, direct.load, direct.usage)}
    sent = pipeline.load.sent
    hits = summarize(hit_ms)
    row.update({
        "hit_p50_ms": None if hits.p50_ms is None else round(hits.p50_ms, 2),
        "hit_p99_ms": None if hits.p99_ms is None else round(hits.p99_ms, 2),
        "pool": pool,
        "hits": outcomes["hit"],
        "other_hits": outcomes["other_hit"],
        "misses": outcomes["miss"],
        "hit_ratio": round(outcomes["hit"] / sent, 4) if sent else None,
        "cache_hits": outcomes["hit"] + outcomes["other_hit"],
    })
    return row


def client_ask(client: Any, timeout_s: float) -> Ask:
    async def ask(text: str, tenant: str) -> Reply:
        reply: Reply = await client.complete(messages(text), model="default", tenant=tenant, timeout=timeout_s)
        return reply

    return ask


async def _measure(rig: Rig, ask: Ask, options: LoadOptions, path: HitPath, rate: float, probes: list[Probe],
                   display: BenchDisplay) -> dict[str, Any]:
    def question(index: int) -> list[dict[str, str]]:
        return messages(probes[index % len(probes)].question)

    direct = await direct_phase(rig, options, rate, display, messages_for=question)
    outcomes: Counter[str] = Counter()
    hit_ms: list[float] = []

    async def call(index: int) -> Reply:
        probe = probes[index % len(probes)]
        started = time.perf_counter()
        reply = await ask(probe.question, probe.tenant)
        outcome = classify(reply, probe)
        outcomes[outcome] += 1
        if outcome == "hit":
            hit_ms.append((time.perf_counter() - started) * 1000.0)
        return reply

    def forget_warmup() -> None:
        outcomes.clear()
        hit_ms.clear()

    pipeline = await run_phase(
        call, spec(options, rate), rig.pids(), on_measure_start=forget_warmup,
        on_progress=lambda stage: display.phase(f"{path:<9}{rate:>6.0f}/s {stage}"),
    )
    return hits_row(path, rate, pipeline, direct, outcomes, len(probes), hit_ms)


async def _prime_semantic(ask: Ask, pairs_path: Path, generation: int, display: BenchDisplay) -> tuple[list[Probe], dict[str, Any]]:
    candidates = semantic_probes(pairs_path, fresh_tenants(generation))
    display.say(f"priming {len(candidates)} originals of {pairs_path.name}'s hit pairs (tenants hits{generation}-*)")
    stored, unstored = await prime(ask, candidates, concurrency=4)
    kept, outcomes = await keep_hitting(ask, stored, concurrency=4)
    return kept, {"pairs": len(candidates), "stored": len(stored), "never_cached": unstored,
                  "paraphrase_check": dict(outcomes), "kept": len(kept)}


async def run_hits(options: LoadOptions, work_dir: Path, display: BenchDisplay, *, semantic_rates: Sequence[float],
                   pairs_path: Path, exact_pool: int = 256) -> dict[str, Any]:
    if not options.with_cache:
        raise ConfigError("the hits scenario measures the cache; it cannot run with --no-cache")
    if semantic_rates:
        semantic_probes(pairs_path)  # a bad pair file fails before anything starts
    rows: list[dict[str, Any]] = []
    primed: dict[str, Any] = {"semantic": []}
    with rig_for(options, work_dir) as rig:
        rig.start(display.say)
        async with rig.client() as client:
            took = await wait_until_serving(client, rig)
            display.say(f"pipeline answering after {took:.1f}s")
            ask = client_ask(client, options.timeout_s)
            plan: list[tuple[HitPath, float]] = [("exact", r) for r in options.rates]
            plan += [("semantic", r) for r in semantic_rates]
            exact: list[Probe] = []
            if options.rates:
                display.say(f"priming {exact_pool} exact prompts")
                exact, unstored = await prime(ask, exact_probes(exact_pool), concurrency=32)
                primed["exact"] = {"stored": len(exact), "never_cached": unstored}
            for generation, (path, rate) in enumerate(plan):
                probes = exact
                if path == "semantic":
                    probes, report = await _prime_semantic(ask, pairs_path, generation, display)
                    primed["semantic"].append({"rate": rate, **report})
                    display.say(f"semantic pool for {rate:g}/s: {report}")
                if not probes:
                    raise ConfigError(f"no {path} probe came back cached during priming; logs in {rig.log_dir}")
                rows.append(await _measure(rig, ask, options, path, rate, probes, display))
                dead = rig.dead()
                if dead:
                    display.say(f"[red]processes died: {', '.join(dead)}; stopping (logs in {rig.log_dir})")
                    break
        sizes = await topic_sizes(rig)
    opts = {**options.model_dump(mode="json"), "semantic_rates": list(semantic_rates), "pairs": str(pairs_path),
            "exact_pool": exact_pool}
    return document("hits", opts, rows, primed=primed, partition_sizes=sizes)


def hits_table(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    headers, cells = _with_path(rows, latency_table(rows))
    headers = [*headers, "hit ratio", "other hits", "misses", "hit-only p99"]
    cells = [
        [*line, fmt(row.get("hit_ratio"), 3), fmt(row.get("other_hits")), fmt(row.get("misses")),
         fmt(row.get("hit_p99_ms"))]
        for row, line in zip(rows, cells, strict=True)
    ]
    return headers, cells


def _with_path(rows: Sequence[dict[str, Any]], table: tuple[list[str], list[list[str]]]) -> tuple[list[str], list[list[str]]]:
    headers, cells = table
    return ["path", *headers], [[row["path"], *line] for row, line in zip(rows, cells, strict=True)]


def show_hits(doc: dict[str, Any], display: BenchDisplay) -> None:
    opts = doc["options"]
    display.table(
        f"tokenyard hits: {opts['workers']} worker(s), {opts['duration_s']:g}s per rate (latency ms; "
        f"hit ratio = hits on the primed entry / requests sent)", *hits_table(doc["rows"]),
    )
    display.table("CPU seconds per 1,000 requests, per process", *_with_path(doc["rows"], cost_table(doc["rows"])))
    display.out.print(f"primed: {doc.get('primed')}")
