from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.embedding import HashingEmbedder
from tokenyard.cache.entry import CacheInvalidation, CacheTombstone, decode_record, encode_record
from tokenyard.cache.results import Hit, Miss
from tokenyard.cache.shard import CacheShard
from tokenyard.cache.storing import new_entry, question_text
from tokenyard.errors import MalformedEvent
from tokenyard.schemas.records import CacheMode, Params, Usage

from .conftest import entry_for, make_request

NOW = 1_000.0


def store(shard: CacheShard, embedder: HashingEmbedder, text: str, now: float = NOW, **kw: object):
    request = make_request(text, **kw)
    entry = entry_for(request, shard.config, embedder.embed([text])[0], now, content=f"answer: {text}")
    shard.apply(entry, now)
    return entry


def ask(shard: CacheShard, embedder: HashingEmbedder, text: str, now: float = NOW + 1, **kw: object):
    request = make_request(text, **kw)
    first = shard.lookup(request, None, now)
    if isinstance(first, Miss) and first.needs_embedding:
        return shard.lookup(request, embedder.embed([question_text(request, shard.config)])[0], now)
    return first


def test_exact_hit_needs_no_embedding(config, embedder):
    shard = CacheShard(config)
    entry = store(shard, embedder, "What is the capital of France?")
    result = shard.lookup(make_request("What is the capital  of France?"), None, NOW + 1)
    assert isinstance(result, Hit) and result.kind == "exact" and result.entry.entry_id == entry.entry_id
    assert result.cost_saved == Decimal("0.0021")
    assert shard.stats.exact_hits == 1 and shard.stats.cost_saved_usd == Decimal("0.0021")


def test_semantic_hit_and_rejected_near_miss(config, embedder):
    shard = CacheShard(config)
    store(shard, embedder, "What is the capital of France?")
    hit = ask(shard, embedder, "what is the capital of France")
    assert isinstance(hit, Hit) and hit.kind == "semantic" and hit.similarity > 0.5
    miss = ask(shard, embedder, "What is the capital of Spain?")
    assert isinstance(miss, Miss) and miss.reason == "rejected" and miss.rejected == 1
    assert shard.stats.semantic_hits == 1 and shard.stats.misses == 1 and shard.stats.rejected_candidates == 1


def test_bypass_and_refresh_never_look_up(config, embedder):
    shard = CacheShard(config)
    store(shard, embedder, "hello there")
    assert ask(shard, embedder, "hello there", cache=CacheMode.skip) == Miss("bypass")
    assert ask(shard, embedder, "hello there", cache=CacheMode.refresh) == Miss("refresh")
    assert ask(shard, embedder, "hello there", params=Params(temperature=1.5)) == Miss("bypass")


def test_refresh_answers_are_stored_but_skip_answers_are_not(config):
    refresh = make_request("hi", cache=CacheMode.refresh)
    skip = make_request("hi", cache=CacheMode.skip)
    kwargs = dict(content="x", finish_reason="stop", provider="p", provider_model="m",
                  usage=Usage(), cost_usd=None, embedding=None, now=NOW)
    assert new_entry(refresh, config, **kwargs) is not None
    assert new_entry(skip, config, **kwargs) is None
    assert new_entry(make_request("hi"), config, **{**kwargs, "finish_reason": "content_filter"}) is None


def test_ttl_expires_entries(config, embedder):
    shard = CacheShard(config)
    store(shard, embedder, "hello there")
    assert isinstance(ask(shard, embedder, "hello there", now=NOW + 99), Hit)
    assert isinstance(ask(shard, embedder, "hello there", now=NOW + 100), Miss)
    assert shard.expire(NOW + 100) == 1 and len(shard) == 0 and shard.scope_sizes() == {}


def test_expired_entries_are_skipped_on_replay(config, embedder):
    shard = CacheShard(config)
    store(shard, embedder, "hello there", now=NOW)
    fresh = CacheShard(config)
    for entry in shard.entries():
        fresh.apply(entry, NOW + 500)
    assert len(fresh) == 0


def test_capacity_evicts_oldest_first(embedder):
    shard = CacheShard(CacheConfig(capacity_per_shard=3))
    for i in range(5):
        store(shard, embedder, f"question number {i} please", now=NOW + i)
    assert [e.prompt for e in shard.entries()] == [f"question number {i} please" for i in (2, 3, 4)]
    assert shard.stats.evicted == 2
    assert sum(shard.scope_sizes().values()) == 3


def test_newer_answer_replaces_and_older_redelivery_is_ignored(config, embedder):
    shard = CacheShard(config)
    old = store(shard, embedder, "hello there", now=NOW)
    new = store(shard, embedder, "hello there", now=NOW + 10)
    shard.apply(old, NOW + 11)  # at-least-once redelivery of the older record
    assert len(shard) == 1 and shard.entries()[0].created_at == new.created_at
    assert sum(shard.scope_sizes().values()) == 1


def test_tombstone_deletes_one_entry(config, embedder):
    shard = CacheShard(config)
    entry = store(shard, embedder, "hello there")
    store(shard, embedder, "another question entirely")
    shard.apply(CacheTombstone(entry.entry_id), NOW)
    assert [e.prompt for e in shard.entries()] == ["another question entirely"]


@pytest.mark.parametrize(
    ("invalidation", "left"),
    [
        (lambda e: CacheInvalidation(at=NOW, tenant="acme"), {"globex/chat"}),
        (lambda e: CacheInvalidation(at=NOW, route="chat"), {"acme/code"}),
        (lambda e: CacheInvalidation(at=NOW, scope_id=e.scope_id), {"globex/chat", "acme/code"}),
        (lambda e: CacheInvalidation(at=NOW - 1, tenant="acme"), {"acme/chat", "globex/chat", "acme/code"}),
    ],
)
def test_invalidation_by_tenant_route_or_scope(config, embedder, invalidation, left):
    shard = CacheShard(config)
    first = store(shard, embedder, "hello there", tenant="acme", route="chat")
    store(shard, embedder, "hello there", tenant="globex", route="chat")
    store(shard, embedder, "hello there", tenant="acme", route="code")
    shard.apply(invalidation(first), NOW)
    assert {f"{e.tenant}/{e.route}" for e in shard.entries()} == left


def test_invalidation_also_drops_older_entries_replayed_after_it(config, embedder):
    shard = CacheShard(config)
    shard.apply(CacheInvalidation(at=NOW, tenant="acme"), NOW)
    store(shard, embedder, "hello there", now=NOW - 5)
    store(shard, embedder, "later question here", now=NOW + 5)
    assert [e.prompt for e in shard.entries()] == ["later question here"]


def test_invalidation_needs_a_filter():
    with pytest.raises(ValueError, match="tenant, a route or a scope_id"):
        CacheInvalidation(at=NOW)


def test_wire_round_trip_keeps_every_field_and_the_vector(config, embedder):
    entry = entry_for(make_request("hello there"), config, embedder.embed(["hello there"])[0], NOW)
    back = decode_record(encode_record(entry))
    assert back == entry
    assert back.embedding is not None and np.array_equal(back.embedding, entry.embedding)
    for record in (CacheTombstone("abc"), CacheInvalidation(at=1.0, route="chat")):
        assert decode_record(encode_record(record)) == record


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"type": "cache_nope"}', "unknown cache record type"),
        (b'{"type": "cache_tombstone"}', "lacks field 'entry_id'"),
        (b'{"type": "cache_invalidation", "at": 1}', "bad value"),
    ],
)
def test_bad_records_raise_malformed_event(data, message):
    with pytest.raises(MalformedEvent, match=message):
        decode_record(data)


def test_replay_rebuilds_a_shard_that_answers_identically(embedder):
    config = CacheConfig(capacity_per_shard=40, brute_force_below=10)
    original = CacheShard(config)
    log = []
    texts = [f"how do I configure service {i} for region {i % 7}" for i in range(60)]
    for i, text in enumerate(texts):
        entry = entry_for(make_request(text, tenant=f"t{i % 3}"), config, embedder.embed([text])[0], NOW + i)
        log.append(entry)
        original.apply(entry, NOW + i)
        if i == 30:
            inv = CacheInvalidation(at=NOW + i, tenant="t1")
            log.append(inv)
            original.apply(inv, NOW + i)
    one_by_one = CacheShard(config)
    for record in log:
        one_by_one.apply(decode_record(encode_record(record)), NOW + 60)
    batched = CacheShard(config)
    assert batched.apply_many((decode_record(encode_record(r)) for r in log), NOW + 60) == len(log)
    probes = texts + ["how do I configure service 5 for region 5", "unrelated words entirely"]
    for rebuilt in (one_by_one, batched):
        assert rebuilt.entries() == original.entries()
        assert rebuilt.scope_sizes() == original.scope_sizes()
        assert len(original.entries()) == 40  # capacity evicted the oldest
        for i, text in enumerate(probes):
            request = make_request(text, tenant=f"t{i % 3}")
            vector = embedder.embed([text])[0]
            assert rebuilt.lookup(request, vector, NOW + 61) == original.lookup(request, vector, NOW + 61)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x y z", "x y", "y z w", "q r"])),
        min_size=1,
        max_size=12,
    ),
    reader=st.sampled_from(["a", "b", "c"]),
    question=st.sampled_from(["x y z", "x y", "y z w", "q r", "x z"]),
)
def test_entries_never_cross_tenants(writes, reader, question):
    embedder = HashingEmbedder(16)
    config = CacheConfig(
        brute_force_below=4,
        default_route=RouteCacheConfig(similarity_threshold=-1.0, verification="off", candidates=64),
    )
    shard = CacheShard(config, dimension=16)
    for i, (tenant, text) in enumerate(writes):
        shard.apply(entry_for(make_request(text, tenant=tenant), config, embedder.embed([text])[0], NOW + i), NOW + i)
    result = shard.lookup(make_request(question, tenant=reader), embedder.embed([question])[0], NOW + 50)
    if isinstance(result, Hit):
        assert result.entry.tenant == reader
    # With verification off and no threshold, the reader's own entries always answer.
    assert isinstance(result, Hit) == any(t == reader for t, _ in writes)


def test_shared_scope_serves_other_tenants(embedder):
    config = CacheConfig(routes={"faq": RouteCacheConfig(shared_scope=True)})
    shard = CacheShard(config)
    store(shard, embedder, "What are your opening hours?", tenant="a", route="faq")
    assert isinstance(ask(shard, embedder, "What are your opening hours?", tenant="b", route="faq"), Hit)
    assert isinstance(ask(shard, embedder, "What are your opening hours?", tenant="b", route="chat"), Miss)


def test_max_tokens_compatibility_is_checked_on_hits(config, embedder):
    shard = CacheShard(config)
    store(shard, embedder, "hello there")  # 7 output tokens, finished with stop
    assert isinstance(ask(shard, embedder, "hello there", params=Params(max_tokens=7)), Hit)
    assert isinstance(ask(shard, embedder, "hello there", params=Params(max_tokens=6)), Miss)


def test_wrong_embedding_shape_is_refused(config):
    shard = CacheShard(config)
    entry = entry_for(make_request("hello there"), config, np.ones(10, dtype=np.float32), NOW)
    with pytest.raises(ValueError, match="shape"):
        shard.apply(entry, NOW)
