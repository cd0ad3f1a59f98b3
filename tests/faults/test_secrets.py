"""A provider API key with a known random value never leaves the provider call:
after ok, failing (401, 500, a provider that echoes the key back in its error body)
and malformed requests, no log line, no record of any topic of the pipeline, no
ClickHouse row and no client exception contains it. Prompts and completions are
not stored in ClickHouse either."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from tests.conftest import dump_logs
from tests.faults.load import RecordingFake, start_fault_pipeline, wait_serving, window
from tokenyard.errors import RemoteError
from tokenyard.streams.cli.dlq import read_topic_exactly

pytestmark = pytest.mark.broker

KEY_ENV = "TOKENYARD_FAULT_SECRET_KEY"
LEAKY = "echo@leaky"


class KeyEchoingFake(RecordingFake):
    """Answers ``echo@leaky`` with a 401 whose body quotes the key it was sent, as
    some OpenAI-compatible servers do."""

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        if body.get("model") == LEAKY:
            await self._body(request)  # recorded like any call
            key = request.headers.get("authorization", "").removeprefix("Bearer ")
            return web.json_response(
                {"error": {"message": f"Incorrect API key provided: {key}. Find your key at ...",
                           "type": "invalid_request_error", "code": "invalid_api_key"}}, status=401)
        return await super()._openai(request)


def extra(fake_url: str) -> str:
    models = "\n".join(f'[providers.keyed.models."{m}"]\ncontext_window = 8192\n'
                       for m in ("echo", "fail-401", "fail-500", LEAKY))
    return f"""
[providers.keyed]
kind = "openai_compatible"
base_url = "{fake_url}/v1"
api_key_env = "{KEY_ENV}"
timeouts = {{ connect = 1.0, first_byte = 2.0, total = 5.0 }}

{models}
[routes.keyed-ok]
targets = ["keyed:echo"]

[routes.keyed-401]
targets = ["keyed:fail-401"]

[routes.keyed-500-then-ok]
targets = ["keyed:fail-500", "keyed:echo"]

[routes.keyed-leaky]
targets = ["keyed:{LEAKY}"]

[routes.keyed-leaky-then-ok]
targets = ["keyed:{LEAKY}", "keyed:echo"]
"""


async def every_topic_record(bootstrap: str, prefix: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if prefix in t)
    finally:
        await consumer.stop()
    values: list[bytes] = []
    for topic in topics:
        values += [v or b"" for _, _, v in await read_topic_exactly(bootstrap, topic)]
    return values


async def test_provider_key_appears_in_no_log_topic_row_or_exception(broker, tmp_path: Path, monkeypatch) -> None:
    key = f"sk-fault-{secrets.token_hex(24)}"
    monkeypatch.setenv(KEY_ENV, key)  # the children inherit it
    tag = f"PROMPT-{uuid.uuid4().hex[:8]}"
    exceptions: list[str] = []
    async with KeyEchoingFake() as fake:
        pipeline = start_fault_pipeline(tmp_path, broker.bootstrap, fake, extra=extra(fake.base_url))
        prefix = pipeline.settings.kafka.topic_prefix
        try:
            async with pipeline.client() as client:
                await wait_serving(pipeline, client)
                replies = []
                for route in ("keyed-ok", "keyed-401", "keyed-500-then-ok", "keyed-leaky", "keyed-leaky-then-ok",
                              "no-such-route"):
                    for i in range(3):
                        try:
                            replies.append(await client.complete(
                                [{"role": "user", "content": f"{tag} {route} {i}"}], model=route,
                                tenant="secretive", timeout=30, cache="skip"))
                        except RemoteError as exc:
                            exceptions += [str(exc), repr(exc), orjson.dumps(exc.to_wire()).decode()]
                streamed = [item async for item in client.stream(
                    [{"role": "user", "content": f"{tag} streamed"}], model="keyed-leaky-then-ok",
                    tenant="secretive", timeout=30)]
                await pipeline.produce_raw([b"{not json", orjson.dumps({"request_id": "bad", "tenant": "secretive",
                                            "model": "keyed-ok", "messages": "nope",
                                            "reply_to": pipeline.names.replies})], key=b"secretive")
                # one more answered request: everything before it was processed
                await client.complete([{"role": "user", "content": f"{tag} last"}], model="keyed-ok",
                                      tenant="secretive", timeout=30, cache="skip")
                await asyncio.sleep(1.5)  # the sink flushes every 0.3 s
                request_ids = [r.request_id for r in replies]
                rows = []
                for name, params in (("top_requests", {**window(), "limit": 1000}), ("spend_by_model", window()),
                                     ("failure_cost", window()), ("error_rates", window()),
                                     ("cache_stats", window()), ("spend_by_tenant", window())):
                    rows.append((name, await pipeline.query(name, **params)))
                for rid in request_ids:
                    rows.append(("request_usage", await pipeline.query("request_usage", request_id=rid)))
            records = await every_topic_record(broker.bootstrap, prefix)
        except BaseException:
            print(dump_logs(tmp_path / "logs"))
            raise
        finally:
            pipeline.stack.stop()

    keyed_calls = [c for c in fake.received if tag in c.prompt]  # only the keyed provider gets these
    # the key was really used: every call to the keyed provider carried it
    assert keyed_calls and all(c.authorization == f"Bearer {key}" for c in keyed_calls)
    assert any(c.model == LEAKY for c in keyed_calls)
    assert exceptions, "no failing request raised: the error paths were not exercised"

    needles = [key.encode(), key.removeprefix("sk-fault-").encode()]
    logs = {p.name: p.read_bytes() for p in (tmp_path / "logs").glob("*")}
    assert logs and all(not any(n in text for n in needles) for text in logs.values()), [
        name for name, text in logs.items() if any(n in text for n in needles)]
    assert len(records) > 50
    leaked = [r[:300] for r in records if any(n in r for n in needles)]
    assert not leaked, leaked[:3]
    clickhouse = orjson.dumps(rows)
    assert not any(n in clickhouse for n in needles)
    assert not any(key in text or key.removeprefix("sk-fault-") in text for text in exceptions)
    assert not any(key in item.model_dump_json() for item in streamed)
    # prompts and completions (the fake echoes the prompt) are not in ClickHouse
    assert tag.encode() not in clickhouse
    assert any(tag.encode() in r for r in records)  # ...while the topics do carry them
    usage_columns = set(rows[-1][1][0]) if rows[-1][1] else set()
    assert usage_columns and not usage_columns & {"prompt", "messages", "content", "completion", "system"}
    print(f"\nsecrets: {len(replies) + len(exceptions) // 3 + 2} requests ({len(keyed_calls)} calls carrying the key, "
          f"{sum(1 for c in keyed_calls if c.model == LEAKY)} to a provider quoting it back), 2 malformed events; "
          f"searched {len(logs)} log files ({sum(map(len, logs.values()))} bytes), {len(records)} topic records, "
          f"{sum(len(r) for _, r in rows)} ClickHouse rows, {len(exceptions)} exception texts: key found 0 times; "
          f"prompt text in ClickHouse 0 times")
