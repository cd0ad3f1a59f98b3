"""Speed of the cache core: ``run_cache_bench()`` returns the numbers as a dict.

Bulk entries are random unit vectors (building 100k real embeddings would take ~10
minutes); the queries are real questions embedded by MiniLM, so the measured lookup
includes the model. All entries share one scope: the worst case for search.

    .venv/bin/python benchmarks/cache/bench_cache.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import os
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

from tokenyard.cache.config import CacheConfig
from tokenyard.cache.embedding import MiniLMEmbedder
from tokenyard.cache.entry import decode_record
from tokenyard.cache.quality import load_pairs
from tokenyard.cache.shard import CacheShard, new_entry
from tokenyard.schemas.records import Message, Request, Role, Usage

PAIRS = Path(__file__).resolve().parents[2] / "tests" / "data" / "cache_pairs_dev2.jsonl"


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _request(i: int, text: str) -> Request:
    return Request(
        request_id=f"bench-{i}",
        tenant="bench",
        model="bench",
        messages=[Message(role=Role.user, content=text)],
        reply_to="bench.replies",
    )


def _pct(samples: list[float]) -> dict[str, float]:
    arr = np.array(samples) * 1000.0
    return {"p50_ms": round(float(np.percentile(arr, 50)), 3), "p99_ms": round(float(np.percentile(arr, 99)), 3)}


def _entry(config: CacheConfig, i: int, text: str, vector: np.ndarray, now: float):
    return new_entry(
        _request(i, text), config, content=f"answer {i}", finish_reason="stop", provider="bench",
        provider_model="bench", usage=Usage(input_tokens=20, output_tokens=80), cost_usd=Decimal("0.0004"),
        embedding=vector, now=now,
    )


def bench_embedding(embedder: MiniLMEmbedder, texts: list[str]) -> dict[str, float]:
    embedder.embed(texts[:4])  # warm up
    single = []
    for text in texts[:100]:
        start = time.perf_counter()
        embedder.embed([text])
        single.append(time.perf_counter() - start)
    start = time.perf_counter()
    embedder.embed(texts[:256])
    batched = (time.perf_counter() - start) / len(texts[:256])
    return {"single": _pct(single), "batched_ms_per_prompt": round(batched * 1000, 3)}


def bench_size(size: int, embedder: MiniLMEmbedder, questions: list[str], stored: list[str], seed: int = 0) -> dict:
    config = CacheConfig(capacity_per_shard=size + len(stored) + 10)
    rng = np.random.default_rng(seed)
    now = 1_000_000.0
    rss0 = _rss_bytes()
    shard = CacheShard(config)
    log = []
    start = time.perf_counter()
    for block in range(0, size, 10_000):
        n = min(10_000, size - block)
        vectors = rng.normal(size=(n, 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        for j in range(n):
            i = block + j
            entry = _entry(config, i, f"bulk question number {i} about topic {i % 977}", vectors[j], now)
            shard.apply(entry, now)
            log.append(entry)
    insert_s = time.perf_counter() - start
    rss1 = _rss_bytes()
    stored_vectors = embedder.embed(stored)
    for k, (text, vector) in enumerate(zip(stored, stored_vectors, strict=True)):
        entry = _entry(config, size + k, text, vector, now)
        shard.apply(entry, now)
        log.append(entry)

    lookups, embeds, searches, outcomes = [], [], [], {"hit": 0, "miss": 0}
    index = next(iter(shard._scopes.values()))  # noqa: SLF001 - search-only timing
    for i, text in enumerate(questions):
        request = _request(10_000_000 + i, text)
        t0 = time.perf_counter()
        vector = embedder.embed([text])[0]
        t1 = time.perf_counter()
        result = shard.lookup(request, vector, now + 1)
        t2 = time.perf_counter()
        index.search(vector, config.default_route.candidates)
        t3 = time.perf_counter()
        embeds.append(t1 - t0)
        lookups.append(t2 - t1)
        searches.append(t3 - t2)
        outcomes["hit" if type(result).__name__ == "Hit" else "miss"] += 1
    exact = []
    for k, text in enumerate(stored):
        t0 = time.perf_counter()
        shard.lookup(_request(k, text), None, now + 1)
        exact.append(time.perf_counter() - t0)

    wire = [e.to_wire() for e in log[:size]]
    rebuilt = CacheShard(config)
    start = time.perf_counter()
    rebuilt.apply_many((decode_record(record) for record in wire), now + 1, threads=2)
    rebuild_s = time.perf_counter() - start
    total = [a + b for a, b in zip(embeds, lookups, strict=True)]
    return {
        "entries": len(shard),
        "index": index.kind,
        "insert_per_s": round(size / insert_s),
        "rss_bytes_per_entry": round((rss1 - rss0) / size),
        "search_only": _pct(searches),
        "lookup_without_embedding": _pct(lookups),
        "embedding": _pct(embeds),
        "lookup_total": _pct(total),
        "exact_hit": _pct(exact),
        "rebuild_s_per_100k": round(rebuild_s * 100_000 / size, 1),  # apply_many, 2 threads
        "outcomes": outcomes,
    }


def run_cache_bench(sizes: tuple[int, ...] = (10_000, 100_000), threads: int = 1) -> dict:
    """What ``tokenyard bench cache --json`` prints."""
    pairs = load_pairs(PAIRS)
    embedder = MiniLMEmbedder(threads=threads)
    questions = [p.b for p in pairs][:200]
    stored = [p.a for p in pairs][:200]
    return {
        "threads": threads,
        "embedding": bench_embedding(embedder, [p.a for p in pairs] + [p.b for p in pairs]),
        "sizes": {str(size): bench_size(size, embedder, questions, stored) for size in sizes},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(run_cache_bench(tuple(args.sizes), args.threads), indent=2))


if __name__ == "__main__":
    main()
