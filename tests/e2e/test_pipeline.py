"""End to end: client -> tansu -> gateway worker -> fake provider over HTTP -> reply,
with usage rows landing in ClickHouse (chDB, owned by the sink process)."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest

from tokenyard.errors import RemoteError, ReplyTimeout
from tests.e2e.pipeline import Pipeline, serving_pipeline

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def pipeline(broker, fake_provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with serving_pipeline(tmp_path_factory.mktemp("pipeline"), broker.bootstrap, fake_provider) as running:
        yield running


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_many_concurrent_requests_get_their_own_replies(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        replies = await asyncio.gather(
            *(client.complete(user(f"question number {i}"), tenant=f"t{i % 3}", timeout=30) for i in range(40))
        )
    for i, reply in enumerate(replies):
        assert reply.status == "ok"
        assert f"question number {i}" in (reply.content or "")
        assert reply.tenant == f"t{i % 3}"
        assert reply.provider == "fake" and reply.provider_model == "echo"
        assert reply.usage is not None and reply.usage.input_tokens > 0
        # priced at $1 / $2 per million tokens in the test config
        expected = (Decimal(reply.usage.input_tokens) * 1 + Decimal(reply.usage.output_tokens) * 2) / 10**6
        assert reply.cost_usd == expected and not reply.cost_unknown


async def test_usage_rows_reach_clickhouse(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        reply = await client.complete(user("count my tokens"), tenant="ledger", timeout=30)
    rows: list[dict] = []
    for _ in range(100):
        rows = await pipeline.query("request_usage", request_id=reply.request_id)
        if len(rows) >= 2:
            break
        await asyncio.sleep(0.2)
    kinds = sorted(r["kind"] for r in rows)
    assert kinds == ["attempt", "request"], rows
    outcome = next(r for r in rows if r["kind"] == "request")
    assert outcome["tenant"] == "ledger" and outcome["status"] == "ok"
    assert int(outcome["input_tokens"]) == reply.usage.input_tokens
    assert Decimal(str(outcome["cost_usd"])) == reply.cost_usd


async def test_fallback_to_the_next_target(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        reply = await client.complete(user("fall back please"), model="fallback", timeout=30)
    assert reply.status == "ok" and reply.provider_model == "echo"
    assert reply.attempts >= 2


async def test_every_target_failing_names_each_failure(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        with pytest.raises(RemoteError) as info:
            await client.complete(user("doomed"), model="broken", timeout=30)
    assert info.value.code == "all_targets_failed"
    assert "fake:fail-500" in info.value.message


async def test_client_times_out_with_a_clear_error(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        with pytest.raises(ReplyTimeout, match="within 0.2s"):
            await client.complete(
                user("too slow"), model="slow", timeout=0.2, deadline_ms=int(time.time() * 1000) + 10_000
            )


BAD_EVENTS = {
    "not_json": b"{this is not json",
    "invalid_utf8": b'{"request_id": "\xff\xfe"}',
    "array": b"[1, 2, 3]",
}


def _valid(request_id: str, reply_to: str, **changes) -> bytes:
    value = {
        "request_id": request_id,
        "tenant": "acme",
        "model": "default",
        "messages": [{"role": "user", "content": "hi"}],
        "reply_to": reply_to,
    }
    value.update(changes)
    return orjson.dumps(value)


async def test_bad_input_gets_error_replies_and_dead_letters(pipeline: Pipeline) -> None:
    replies_topic = pipeline.names.replies
    cases = {
        "bad-missing": (orjson.dumps({"request_id": "bad-missing", "reply_to": replies_topic}), "invalid_request"),
        "bad-types": (_valid("bad-types", replies_topic, tenant=5), "invalid_request"),
        "bad-route": (_valid("bad-route", replies_topic, model="gpt-99"), "unknown_model"),
        "bad-empty": (_valid("bad-empty", replies_topic, messages=[]), "invalid_request"),
        "bad-temp": (_valid("bad-temp", replies_topic, params={"temperature": 7}), "invalid_request"),
        "bad-size": (_valid("bad-size", replies_topic, messages=[{"role": "user", "content": "x" * 6000}]),
                     "prompt_too_large"),
        "bad-topic": (_valid("bad-topic", "payments.ledger"), "unknown_reply_topic"),
        "bad-late": (_valid("bad-late", replies_topic, deadline_ms=1000), "deadline_exceeded"),
    }
    async with pipeline.client() as client:
        # wait on the client's reply reader for the error replies we expect
        futures = {rid: asyncio.get_running_loop().create_future() for rid in cases if rid != "bad-topic"}
        client._waiting.update(futures)
        await pipeline.produce_raw([raw for raw, _ in cases.values()] + list(BAD_EVENTS.values()))
        done = await asyncio.wait_for(asyncio.gather(*futures.values()), 30)
    got = {r.request_id: r for r in done}
    for rid, (_, code) in cases.items():
        if rid == "bad-topic":
            continue
        assert got[rid].status == "error" and got[rid].error.code == code, (rid, got[rid])
        assert got[rid].error.message

    # Every bad input except the merely late one is a dead letter with its original bytes.
    expected_letters = len(cases) - 1 + len(BAD_EVENTS)
    letters = await pipeline.read_topic(pipeline.names.dead_letters, until=expected_letters)
    originals = {base64.b64decode(letter["value_b64"]) for letter in letters}
    for rid, (raw, code) in cases.items():
        if rid != "bad-late":
            assert raw in originals, rid
    for raw in BAD_EVENTS.values():
        assert raw in originals
    codes = {letter["error"]["code"] for letter in letters}
    assert {"malformed_event", "invalid_request", "unknown_model", "prompt_too_large", "unknown_reply_topic"} <= codes

    # ... and the worker went on serving.
    async with pipeline.client() as client:
        assert (await client.complete(user("still alive?"), timeout=30)).status == "ok"


async def test_a_redelivered_request_is_answered_without_paying_twice(pipeline: Pipeline) -> None:
    before = pipeline.fake.calls("echo@idem")
    async with pipeline.client() as client:
        request = client.build_request(user("pay me once"), model="idem", tenant="acme", timeout=30)
        first = await client.send(request, timeout=30)
        again = await client.send(request, timeout=30)
        # two copies at once: the second waits for the first instead of calling too
        twin = client.build_request(user("twins"), model="idem", tenant="acme", timeout=30)
        await client.publish(twin)
        twin_reply = await client.send(twin, timeout=30)
    assert first.status == again.status == twin_reply.status == "ok"
    assert again.model_dump() == first.model_dump()
    assert pipeline.fake.calls("echo@idem") - before == 2


async def test_repeated_and_paraphrased_questions_are_served_from_the_cache(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        first = await client.complete(user("What is the capital of France?"), tenant="cachey", timeout=30)
        await asyncio.sleep(0.3)  # the entry is written after the reply
        exact = await client.complete(user("What is the capital of France?"), tenant="cachey", timeout=30)
        para = await client.complete(user("Which city is France's capital?"), tenant="cachey", timeout=30)
        near_miss = await client.complete(user("What is the capital of Spain?"), tenant="cachey", timeout=30)
        other_tenant = await client.complete(user("What is the capital of France?"), tenant="intruder", timeout=30)
        skipped = await client.complete(user("What is the capital of France?"), tenant="cachey", timeout=30,
                                        cache="skip")
        # passes the word checks with one added word ("change"), which the model weighs out
        await client.complete(user("How do I get the current working directory in Python?"), tenant="cachey",
                              timeout=30)
        await asyncio.sleep(0.3)
        weighed_out = await client.complete(user("How do I change the current working directory in Python?"),
                                            tenant="cachey", timeout=30)
    assert not first.cached
    assert exact.cached and exact.content == first.content and exact.cost_usd == 0
    assert exact.cache_entry_id and exact.similarity == 1.0
    assert para.cached and para.content == first.content and 0 < para.similarity < 1
    assert not near_miss.cached and "Spain" in near_miss.content
    assert not other_tenant.cached
    assert not skipped.cached
    assert not weighed_out.cached  # while "Which city is France's capital?" (added "city") was served
    rows: list[dict] = []
    for _ in range(100):
        rows = await pipeline.query("request_usage", request_id=exact.request_id)
        if rows:
            break
        await asyncio.sleep(0.2)
    assert rows and rows[0]["status"] == "ok" and float(rows[0]["cost_usd"]) == 0


def cli(pipeline: Pipeline, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tokenyard.streams.cli", "--config", str(pipeline.config), *args, "--json"],
        capture_output=True, timeout=60, check=True,
    )
    return orjson.loads(done.stdout)


async def test_cache_stats_and_invalidation_reach_every_worker(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        question = user("How many legs does a spider have?")
        await client.complete(question, tenant="wiper", timeout=30)
        await asyncio.sleep(0.3)
        assert (await client.complete(question, tenant="wiper", timeout=30)).cached
        stats = await asyncio.to_thread(cli, pipeline, "cache", "stats", "--tenant", "wiper")
        assert stats["entries"] >= 1
        [route] = [r for r in stats["routes"] if r["route"] == "default"]
        assert int(route["exact_hits"]) >= 1 or int(route["requests"]) >= 1
        done = await asyncio.to_thread(cli, pipeline, "cache", "invalidate", "--tenant", "wiper")
        assert done["partitions"] == pipeline.settings.kafka.request_partitions
        await asyncio.sleep(1.0)  # the workers follow the cache topic every ~250 ms
        after = await client.complete(question, tenant="wiper", timeout=30)
    assert after.status == "ok" and not after.cached


async def test_streamed_answer_arrives_in_order_and_survives_a_cut_stream(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        items = [item async for item in client.stream(
            user("tell me a long story about brokers and streams"), model="cutting", timeout=30, cache="skip"
        )]
    *chunks, reply = items
    assert reply.type == "reply" and reply.status == "ok" and reply.provider_model == "echo"
    restarts = [i for i, c in enumerate(chunks) if c.restart]
    assert restarts, "the cut stream must be voided by a restart marker"
    after = chunks[restarts[-1] + 1:]
    assert [c.seq for c in chunks] == sorted(c.seq for c in chunks)
    assert "".join(c.delta for c in after) == reply.content
    assert reply.attempts >= 2


async def test_worker_metrics_count_requests_cache_and_provider_calls(pipeline: Pipeline) -> None:
    async with pipeline.client() as client:
        await client.complete(user("metrics please"), tenant="metered", timeout=30)
        await client.complete(user("metrics please"), tenant="metered", timeout=30)  # exact hit
        await client.complete(user("Convert 10 USD to EUR."), tenant="metered", timeout=30)
        for _ in range(40):  # the entry is written after the reply: an exact hit shows it is in
            await asyncio.sleep(0.1)
            if (await client.complete(user("Convert 10 USD to EUR."), tenant="metered", timeout=30)).cached:
                break
        # its nearest neighbour, refused by the verifier
        await client.complete(user("Convert 10 EUR to USD."), tenant="metered", timeout=30)
    endpoints = sorted((Path(pipeline.settings.worker.data_dir) / "endpoints").glob("worker-*.json"))
    assert endpoints
    async with httpx.AsyncClient() as http:
        texts = [(await http.get(orjson.loads(p.read_bytes())["url"] + "/metrics")).text for p in endpoints]
    text = "\n".join(texts)
    assert 'tokenyard_requests_total{stage="invoke",route="default",outcome="ok"}' in text
    assert 'tokenyard_requests_total{stage="lookup",route="default",outcome="ok"}' in text
    assert 'tokenyard_provider_calls_total{target="fake:echo",outcome="ok"}' in text
    assert 'tokenyard_cache_lookups_total{route="default",result="exact"}' in text
    assert 'tokenyard_cache_rejections_total{route="default",reason="units"}' in text  # 10 EUR is not 10 USD
    assert "tokenyard_consumer_lag" in text
