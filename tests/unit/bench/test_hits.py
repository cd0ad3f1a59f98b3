import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tokenyard.errors import ConfigError
from tokenyard.schemas.records import Reply
from tokenyard.streams.bench.cpu import Usage
from tokenyard.streams.bench.hits import (
    Probe,
    classify,
    exact_probes,
    hits_row,
    hits_table,
    keep_hitting,
    prime,
    semantic_probes,
)
from tokenyard.streams.bench.loadgen import LoadResult
from tokenyard.streams.bench.measure import Phase
from tokenyard.streams.bench.results import REQUIRED_ROW_KEYS


def reply(*, cached: bool, entry: str | None = None) -> Reply:
    return Reply(request_id="r", status="ok", content="x", cached=cached, cache_entry_id=entry, created_ms=0)


class FakeCache:
    """Stores an original's answer only after it was asked ``store_after`` times (the
    reply leaves before the store lands); a paraphrase maps to an entry by ``paraphrases``."""

    def __init__(self, store_after: int = 2, paraphrases: dict[str, str] | None = None):
        self.store_after = store_after
        self.paraphrases = paraphrases or {}
        self.asked: Counter[tuple[str, str]] = Counter()

    async def ask(self, text: str, tenant: str) -> Reply:
        self.asked[(text, tenant)] += 1
        if text in self.paraphrases:
            return reply(cached=True, entry=f"{tenant}/{self.paraphrases[text]}")
        if self.asked[(text, tenant)] > self.store_after:
            return reply(cached=True, entry=f"{tenant}/{text}")
        return reply(cached=False)


def run(coro):
    return asyncio.run(coro)


async def no_sleep(_s: float) -> None:
    return None


def test_prime_repeats_until_each_original_comes_back_cached_and_learns_its_entry():
    cache = FakeCache(store_after=3)
    probes = [Probe("q1", "q1", "t0"), Probe("q2", "q2", "t1")]
    stored, never = run(prime(cache.ask, probes, concurrency=2, sleep=no_sleep))
    assert never == 0
    assert [p.entry_id for p in stored] == ["t0/q1", "t1/q2"]
    assert cache.asked[("q1", "t0")] == 4  # first send, two cached=False repeats, one cached


def test_prime_gives_up_at_the_deadline_and_counts_what_never_came_back():
    cache = FakeCache(store_after=10**9)
    ticks = iter(range(100))
    stored, never = run(prime(cache.ask, [Probe("q", "q", "t")], concurrency=1, timeout_s=3,
                              clock=lambda: float(next(ticks)), sleep=no_sleep))
    assert stored == [] and never == 1


def test_only_paraphrases_that_hit_their_own_original_are_kept():
    primed = [Probe("a1", "b1", "t", "t/a1"), Probe("a2", "b2", "t", "t/a2"), Probe("a3", "b3", "t", "t/a3")]
    # b1 hits a1 (kept); b2 hits a3's entry (a hit, but the wrong answer); b3 misses
    cache = FakeCache(store_after=10**9, paraphrases={"b1": "a1", "b2": "a3"})
    kept, outcomes = run(keep_hitting(cache.ask, primed, concurrency=2))
    assert [p.question for p in kept] == ["b1"]
    assert outcomes == Counter({"hit": 1, "other_hit": 1, "miss": 1})


def test_a_cached_reply_from_another_entry_is_not_a_hit():
    probe = Probe("a", "b", "t", entry_id="E")
    assert classify(reply(cached=True, entry="E"), probe) == "hit"
    assert classify(reply(cached=True, entry="F"), probe) == "other_hit"
    assert classify(reply(cached=False), probe) == "miss"


def load(n: int, ms: float, sent: int) -> LoadResult:
    return LoadResult(offered_rps=100.0, duration_s=10.0, sent=sent, latencies_ms=[ms] * n, lag_ms=[0.0] * n,
                      elapsed_s=10.0)


def test_row_hit_ratio_counts_misses_and_lost_requests_against_the_hits():
    pipeline = Phase(load(90, 5.0, sent=100), {"worker-0": Usage(1.0, 100.0)})
    direct = Phase(load(100, 1.0, sent=100), {"fake": Usage(0.1, 30.0)})
    row = hits_row("semantic", 100.0, pipeline, direct, Counter({"hit": 80, "other_hit": 6, "miss": 4}), pool=120,
                   hit_ms=[3.0] * 79 + [9.0])
    assert all(k in row for k in REQUIRED_ROW_KEYS)
    assert row["hit_ratio"] == 0.8  # 10 requests never answered count as not hit
    assert (row["hits"], row["other_hits"], row["misses"], row["cache_hits"]) == (80, 6, 4, 86)
    assert row["added_p99_ms"] == 4.0
    assert (row["hit_p50_ms"], row["hit_p99_ms"]) == (3.0, 9.0)  # hits' own latencies, not the row's 5 ms
    headers, cells = hits_table([row])
    assert headers[0] == "path" and cells[0][0] == "semantic"
    assert cells[0][headers.index("hit ratio")] == "0.800"


def test_probe_pools():
    exact = exact_probes(40)
    assert len({p.original for p in exact}) == 40 and all(p.question == p.original for p in exact)
    assert len({p.tenant for p in exact}) > 1  # spread over partitions, hence workers
    pairs = Path(__file__).parents[2] / "data" / "cache_pairs_dev2.jsonl"
    semantic = semantic_probes(pairs)
    assert semantic and all(p.question != p.original for p in semantic)


def test_a_pair_file_without_hit_pairs_is_refused(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"id": "1", "a": "x", "b": "y", "label": "miss"}\n')
    with pytest.raises(ConfigError, match="no pairs labelled 'hit'"):
        semantic_probes(path)


def test_each_semantic_rate_gets_tenants_no_other_phase_used():
    from tokenyard.streams.bench.hits import fresh_tenants
    from tokenyard.streams.bench.rig import TENANTS

    first, second = set(fresh_tenants(1)), set(fresh_tenants(2))
    assert first.isdisjoint(second) and first.isdisjoint(TENANTS)
    pairs = Path(__file__).parents[2] / "data" / "cache_pairs_dev2.jsonl"
    assert {p.tenant for p in semantic_probes(pairs, fresh_tenants(1))} == first
