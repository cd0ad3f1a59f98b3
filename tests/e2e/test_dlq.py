"""`tokenyard dlq` against a real pipeline: bad events become dead letters that the
command lists, shows and replays (the original bytes, so they dead-letter again)."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator

import orjson
import pytest
from click.testing import CliRunner, Result

from tests.e2e.pipeline import Pipeline, serving_pipeline
from tokenyard.streams.cli import cli
from tokenyard.streams.cli.dlq import dlq

pytestmark = pytest.mark.broker

cli.add_command(dlq)


def _run(pipeline: Pipeline, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["--config", str(pipeline.config), "dlq", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _letters(pipeline: Pipeline, *args: str) -> list[dict]:
    result = _run(pipeline, "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout)


def _wait_for_letters(pipeline: Pipeline, count: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        letters = _letters(pipeline)
        if len(letters) >= count or time.monotonic() > deadline:
            return letters
        time.sleep(0.3)


@pytest.fixture(scope="module")
def pipeline(broker, fake_provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    with serving_pipeline(tmp_path_factory.mktemp("dlq"), broker.bootstrap, fake_provider) as running:
        yield running


def _request(pipeline: Pipeline, request_id: str, **changes: object) -> bytes:
    value = {"request_id": request_id, "tenant": "acme", "model": "default",
             "messages": [{"role": "user", "content": "hi"}], "reply_to": pipeline.names.replies, **changes}
    return orjson.dumps(value)


def test_list_show_and_replay(pipeline: Pipeline) -> None:
    bad = [
        b"{not json",
        b"\xff\xfe\x00binary",
        _request(pipeline, "dlq-route", model="no-such-route"),
        _request(pipeline, "dlq-types", tenant=42),
        _request(pipeline, "dlq-temp", params={"temperature": 9}),
    ]
    assert _letters(pipeline) == []
    asyncio.run(pipeline.produce_raw(bad, key=b"acme"))

    letters = _wait_for_letters(pipeline, len(bad))
    assert len(letters) == len(bad)
    assert sorted(base64.b64decode(letter["value_b64"]) for letter in letters) == sorted(bad)
    assert all(base64.b64decode(letter["key_b64"]) == b"acme" for letter in letters)
    codes = sorted(letter["error"]["code"] for letter in letters)
    assert codes == ["invalid_request", "invalid_request", "malformed_event", "malformed_event", "unknown_model"]

    # filters
    assert [x["request_id"] for x in _letters(pipeline, "--code", "unknown_model")] == ["dlq-route"]
    assert len(_letters(pipeline, "--limit", "2")) == 2
    assert _letters(pipeline, "--since", "2001-01-01T00:00:00") == letters
    assert _letters(pipeline, "--since", str(int(time.time() * 1000) + 60_000)) == []

    # the table
    table = _run(pipeline, "list")
    assert table.exit_code == 0 and "5 dead letter(s)" in table.stdout and "unknown_model" in table.stdout

    # show: the letter and the original bytes decoded
    route_letter = next(x for x in letters if x["error"]["code"] == "unknown_model")
    shown = _run(pipeline, "show", str(route_letter["dlq_offset"]))
    assert shown.exit_code == 0
    assert '"no-such-route"' in shown.stdout and "-- original value:" in shown.stdout
    missing = _run(pipeline, "show", "99999")
    assert missing.exit_code == 1 and "no dead letter at partition 0, offset 99999" in missing.stderr

    # replay: a dry run sends nothing; a real one re-sends the original bytes, which
    # dead-letter again, so the count grows by exactly what was replayed.
    dry = _run(pipeline, "replay", "--code", "unknown_model", "--dry-run")
    assert dry.exit_code == 0 and "would replay 1 dead letter(s)" in dry.stdout
    assert _run(pipeline, "replay").exit_code == 2  # no selector: usage error

    one = _run(pipeline, "replay", "--offset", str(route_letter["dlq_offset"]))
    assert one.exit_code == 0 and "replayed 1 dead letter(s)" in one.stdout
    assert len(_wait_for_letters(pipeline, len(bad) + 1)) == len(bad) + 1

    everything = _run(pipeline, "replay", "--all")
    assert everything.exit_code == 0 and f"replayed {len(bad) + 1}" in everything.stdout
    final = _wait_for_letters(pipeline, 2 * (len(bad) + 1))
    assert len(final) == 2 * (len(bad) + 1)
    # replayed copies carry the same original bytes and key as the letters they came from
    originals = [base64.b64decode(x["value_b64"]) for x in final]
    assert all(originals.count(raw) >= 2 for raw in bad)
    assert originals.count(bad[2]) == 4  # sent, replayed alone, replayed twice by --all
    assert not pipeline.stack.dead_children()


def test_the_reader_gets_every_record_even_when_the_broker_end_offset_is_wrong(broker) -> None:
    """tansu's ListOffsets(latest) points into the last batch; the reader must not stop there."""
    from aiokafka import AIOKafkaProducer

    from tokenyard.streams.broker import ensure_topics
    from tokenyard.streams.cli.dlq import read_topic_exactly

    topic = f"reader-{time.time_ns()}"

    async def scenario() -> list[tuple[int, int, bytes | None]]:
        await ensure_topics(broker.bootstrap, {topic: 2})
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=50)
        await producer.start()
        try:
            for round_ in range(3):  # several multi-record batches per partition
                acks = [await producer.send(topic, f"{round_}-{i}".encode(), partition=i % 2) for i in range(400)]
                await asyncio.gather(*acks)
        finally:
            await producer.stop()
        return await read_topic_exactly(broker.bootstrap, topic)

    records = asyncio.run(scenario())
    assert len(records) == 1200
    assert sorted(v for _, _, v in records) == sorted(f"{r}-{i}".encode() for r in range(3) for i in range(400))
    assert asyncio.run(read_topic_exactly(broker.bootstrap, "no-such-topic-here")) == []
