"""``tokenyard bench cache``: speed of the cache core in this process, no broker.

Per size, one shard with every entry in one scope (the worst case for search):

* **insert**: ``CacheShard.apply`` per entry, as the live fold does (entry objects are
  built outside the timed part);
* **memory**: growth of this process's RSS while inserting, per entry;
* **search only**, per hnswlib ``ef`` (``--ef``, plus the configured one): ``VectorIndex.search``
  (k = the route's candidates) for the held-out real query embeddings, three passes in
  shuffled order; and the **ANN recall**: the index's top-1 (and top-k) similarity
  against exact brute force over the same vectors, so a fast but wrong index cannot pass;
* **lookup**: the whole semantic lookup for each held-out question: MiniLM embedding +
  ``CacheShard.lookup`` (exact check, search, verification of the candidates);
* **exact hit**: ``lookup`` of a stored question without an embedding;
* **rebuild**: decoding the entries' wire records and ``apply_many`` (2 threads), as a
  worker does after a rebalance, minus the time to produce the records (no Kafka fetch).

How the bulk vectors are derived from real embeddings: see ``cache_corpus``.
"""

from __future__ import annotations

import gc
import hashlib
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal

import numpy as np

from tokenyard.cache.config import CacheConfig
from tokenyard.cache.embedding import MiniLMEmbedder
from tokenyard.cache.entry import CacheEntry, CacheRecord, decode_record
from tokenyard.cache.keys import normalise_text
from tokenyard.cache.results import Hit
from tokenyard.cache.shard import CacheShard
from tokenyard.cache.storing import new_entry
from tokenyard.schemas.records import Message, Request, Role, Usage
from tokenyard.streams.bench.cache_corpus import Corpus, brute_force_top, bulk_blocks, bulk_text, load_corpus

NOW = 1_000_000.0
REBUILD_THREADS = 2
#: Called as (phase, done, total).
Progress = Callable[[str, int, int], None]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _request(request_id: str, text: str) -> Request:
    return Request(request_id=request_id, tenant="bench", model="bench",
                   messages=[Message(role=Role.user, content=text)], reply_to="bench.replies")


def _pct(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000.0
    return {"p50_ms": round(float(np.percentile(ms, 50)), 4), "p99_ms": round(float(np.percentile(ms, 99)), 4)}


def _entry(config: CacheConfig, request_id: str, text: str, vector: np.ndarray) -> CacheEntry:
    entry = new_entry(_request(request_id, text), config, content=f"answer {request_id}", finish_reason="stop",
                      provider="bench", provider_model="bench", usage=Usage(input_tokens=20, output_tokens=80),
                      cost_usd=Decimal("0.0004"), embedding=vector, now=NOW)
    assert entry is not None
    return entry


def _bulk_entries(corpus: Corpus, config: CacheConfig, size: int) -> Iterator[list[CacheEntry]]:
    """Blocks of bulk entries: one real entry as template, prompt/key/vector replaced."""
    template = _entry(config, "template", "template", corpus.base_vectors[0])
    for start, vectors, base_index in bulk_blocks(corpus, size):
        block = []
        for j, vector in enumerate(vectors):
            text = bulk_text(corpus, start + j, int(base_index[j]))
            key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
            block.append(replace(template, entry_id=key, prompt=normalise_text(text), request_id=f"bulk-{start + j}",
                                 embedding=vector))
        yield block


def _search(index, corpus: Corpus, exact: np.ndarray, k: int, ef: int, phase: str,  # type: ignore[no-untyped-def]
            progress: Progress) -> dict[str, float]:
    """Search alone at ``ef`` (three shuffled passes over the queries) and recall@1/@k vs ``exact``."""
    index.set_ef(ef)
    order = [i for _ in range(3) for i in range(len(corpus.queries))]
    random.Random(ef).shuffle(order)
    seconds = []
    for n, i in enumerate(order):
        started = time.perf_counter()
        index.search(corpus.query_vectors[i], k)
        seconds.append(time.perf_counter() - started)
        if n % 100 == 0 or n == len(order) - 1:
            progress(phase, n + 1, len(order))
    ann = np.array([[s for _, s in index.search(v, k)] for v in corpus.query_vectors])
    recall_1 = float(np.mean(ann[:, 0] >= exact[:, 0] - 1e-5))
    recall_k = float(np.mean(np.sum(ann >= exact[:, -1:] - 1e-5, axis=1).clip(max=k) / k))
    # The entry that matters: each query's own stored pair. Is it among the top k at all
    # (exact search), and does the ANN find it? Near-duplicates can crowd it out of both.
    own = np.sum(corpus.query_vectors * corpus.stored_vectors, axis=1)
    own_exact = float(np.mean(own >= exact[:, -1] - 1e-5))
    own_ann = float(np.mean(np.any(np.abs(ann - own[:, None]) < 1e-5, axis=1)))
    return {**_pct(seconds), "recall_at_1": round(recall_1, 4), f"recall_at_{k}": round(recall_k, 4),
            "own_pair_in_exact_top_k": round(own_exact, 4), "own_pair_in_ann_top_k": round(own_ann, 4)}


def bench_size(corpus: Corpus, embedder: MiniLMEmbedder, size: int, efs: list[int], progress: Progress,
               base: CacheConfig) -> dict[str, object]:
    config = base.model_copy(update={"capacity_per_shard": size + len(corpus.stored) + 10})
    candidates = config.default_route.candidates
    gc.collect()
    rss0 = _rss_bytes()
    shard = CacheShard(config)
    insert_s = 0.0
    for block in _bulk_entries(corpus, config, size):
        started = time.perf_counter()
        for entry in block:
            shard.apply(entry, NOW)
        insert_s += time.perf_counter() - started
        progress(f"insert {size:,}", len(shard), size)
    rss1 = _rss_bytes()
    for k, (text, vector) in enumerate(zip(corpus.stored, corpus.stored_vectors, strict=True)):
        shard.apply(_entry(config, f"stored-{k}", text, vector), NOW)

    index = next(iter(shard._scopes.values()))  # noqa: SLF001 - search alone is the measured thing
    progress(f"brute force {size:,}", 0, 1)
    exact = brute_force_top(corpus, size, corpus.query_vectors, candidates)
    progress(f"brute force {size:,}", 1, 1)
    search = {str(ef): _search(index, corpus, exact, candidates, ef, f"search ef={ef} {size:,}", progress)
              for ef in sorted({*efs, config.hnsw_ef})}
    index.set_ef(config.hnsw_ef)  # the lookups below run with the configured ef

    embed_s, lookup_s, hits, weighed, judged = [], [], 0, 0, 0
    for i, text in enumerate(corpus.queries):
        request = _request(f"query-{i}", text)
        t0 = time.perf_counter()
        vector = embedder.embed([text])[0]
        t1 = time.perf_counter()
        result = shard.lookup(request, vector, NOW + 1)
        if isinstance(result, Hit) and result.weighing is not None:  # one more embedding, part of the lookup
            weighed += 1
            result = shard.settle(result, embedder.embed([result.weighing.text])[0])
        t2 = time.perf_counter()
        embed_s.append(t1 - t0)
        lookup_s.append(t2 - t1)
        hits += isinstance(result, Hit)
        judged += isinstance(result, Hit) and result.judged
        progress(f"lookup {size:,}", i + 1, len(corpus.queries))
    exact_s = []
    for k, text in enumerate(corpus.stored):
        started = time.perf_counter()
        shard.lookup(_request(f"exact-{k}", text), None, NOW + 1)
        exact_s.append(time.perf_counter() - started)
    entries, index_kind = len(shard), index.kind
    del shard, index
    gc.collect()
    rebuild_s = _rebuild(corpus, config, size, progress)
    return {
        "entries": entries,
        "insert_per_s": round(size / insert_s),
        "rss_bytes_per_entry": round((rss1 - rss0) / size),
        "index": index_kind,
        "search": search,  # per ef: search alone and the ANN's recall against brute force
        "embedding": _pct(embed_s),
        "lookup_without_embedding": _pct(lookup_s),  # search + verify (+ weighing, when it runs)
        "lookup_total": _pct([a + b for a, b in zip(embed_s, lookup_s, strict=True)]),
        "lookup_hits": hits,
        "lookups_weighed": weighed,  # hits whose added words cost a second embedding
        "lookup_hits_judged": judged,  # hits the judge reopened after the word checks refused them
        "lookups": len(corpus.queries),
        "exact_hit": _pct(exact_s),
        "rebuild_s_per_100k": round(rebuild_s * 100_000 / size, 2),
    }


def _rebuild(corpus: Corpus, config: CacheConfig, size: int, progress: Progress) -> float:
    """Seconds to decode ``size`` wire records and fold them with apply_many, production excluded."""
    producing = 0.0
    done = 0

    def records() -> Iterator[CacheRecord]:
        nonlocal producing, done
        for block in _bulk_entries(corpus, config, size):
            started = time.perf_counter()
            wire = [entry.to_wire() for entry in block]
            producing += time.perf_counter() - started
            for record in wire:
                yield decode_record(record)
            done += len(block)
            progress(f"rebuild {size:,}", done, size)

    shard = CacheShard(config)
    started = time.perf_counter()
    shard.apply_many(records(), NOW, threads=REBUILD_THREADS)  # indexes everything at the end
    total = time.perf_counter() - started
    progress(f"rebuild {size:,}: indexed", 1, 1)
    # Building the entries themselves happens inside the generator too; time it apart.
    started = time.perf_counter()
    for _ in _bulk_entries(corpus, config, size):
        pass
    producing += time.perf_counter() - started
    del shard
    gc.collect()
    return total - producing


def run_cache_speed(sizes: list[int], progress: Progress, threads: int = 1, efs: tuple[int, ...] = (64, 128, 256),
                    config: CacheConfig | None = None) -> dict[str, object]:
    """What ``tokenyard bench cache --json`` prints; ``config`` overrides the default cache settings."""
    config = config or CacheConfig()
    embedder = MiniLMEmbedder(threads=threads)
    progress("embedding the corpus", 0, 1)
    corpus = load_corpus(embedder)
    progress("embedding the corpus", 1, 1)
    return {
        "hnsw": {"m": config.hnsw_m, "ef_construction": config.hnsw_ef_construction, "ef": config.hnsw_ef,
                 "brute_force_below": config.brute_force_below},
        "candidates": config.default_route.candidates,
        "embedding_threads": threads,
        "corpus": {"queries": len(corpus.queries), "stored_real": len(corpus.stored),
                   "bases": len(corpus.base_texts)},
        "load_before": os.getloadavg()[0],
        "sizes": {str(size): bench_size(corpus, embedder, size, list(efs), progress, config) for size in sizes},
        "load_after": os.getloadavg()[0],
    }
