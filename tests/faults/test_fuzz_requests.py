"""Property: no event, however hostile, crashes the gateway or reaches a provider.

Drives :class:`tokenyard.agents.gateway.Gateway` directly with an in-memory sender
(which, like the real producer, refuses records over the producer's size limit)
and a scripted router that records every call.
"""

from __future__ import annotations

import asyncio
import base64
from decimal import Decimal

import orjson
import pytest
from aiokafka.errors import MessageSizeTooLargeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenyard.agents.gateway import Gateway
from tokenyard.agents.intake import IntakeRules
from tokenyard.agents.publish import Publisher
from tokenyard.errors import error_class
from tokenyard.providers.base import Attempt, Completion
from tokenyard.providers.outcome import InvokeOutcome
from tokenyard.schemas.codec import salvage
from tokenyard.schemas.records import Usage
from tokenyard.streams.settings import KafkaSettings
from tokenyard.streams.topics import TopicNames
from tests.faults.fuzz_events import CLASSES, FuzzEvent, Target, invalid_events

NAMES = TopicNames.from_settings(KafkaSettings())
REPLIES = "tokenyard.replies"
TARGET = Target(reply_to=REPLIES, internal_topics=tuple(sorted(NAMES.internal())), max_prompt_chars=1000)
NOW = 1_800_000_000.0
# Faust's producer_max_request_size default: a bigger record fails at send.
MAX_RECORD_BYTES = 1_000_000
# An error message is for people; it must not grow with the input.
MAX_MESSAGE_CHARS = 2_000


class SizeLimitedRecorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, dict]] = []

    async def __call__(self, topic: str, key: bytes | None, value: bytes) -> None:
        if len(value) + len(key or b"") > MAX_RECORD_BYTES:
            raise MessageSizeTooLargeError(f"record of {len(value)} bytes on {topic}")
        self.sent.append((topic, key, orjson.loads(value)))

    def on(self, topic: str) -> list[dict]:
        return [v for t, _, v in self.sent if t == topic]


class RecordingRouter:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def has_route(self, name: str) -> bool:
        return name == "default"

    async def invoke(self, request, *, deadline_s, on_chunk=None):
        self.calls.append(request.request_id)
        usage = Usage(input_tokens=3, output_tokens=1)
        completion = Completion("ok", "stop", usage, "fake", "echo", latency_ms=1.0)
        attempt = Attempt(1, "fake", "echo", None, usage, Decimal("0.000005"), 1.0)
        return InvokeOutcome("default", completion, None, (attempt,), ())


def gateway(router: RecordingRouter, sender: SizeLimitedRecorder) -> Gateway:
    rules = IntakeRules(
        max_prompt_chars=TARGET.max_prompt_chars,
        reply_topic_patterns=(REPLIES,),
        internal_topics=NAMES.internal(),
        has_route=router.has_route,
    )
    return Gateway(rules=rules, router=router, publisher=Publisher(sender, NAMES),
                   default_deadline_s=30.0, clock=lambda: NOW)


async def run(event: FuzzEvent) -> tuple[RecordingRouter, SizeLimitedRecorder]:
    router, sender = RecordingRouter(), SizeLimitedRecorder()
    await gateway(router, sender).handle(event.raw, event.key, partition=0, offset=11)  # must not raise
    return router, sender


def check_invalid(event: FuzzEvent, router: RecordingRouter, sender: SizeLimitedRecorder) -> None:
    assert router.calls == [], f"{event.kind} reached the router"
    [letter] = sender.on(NAMES.dead_letters)
    code = letter["error"]["code"]
    assert code in event.codes, (event.kind, code, letter["error"]["message"][:300])
    assert error_class(code) is not None, f"{code} is not a documented error code"
    assert 0 < len(letter["error"]["message"]) <= MAX_MESSAGE_CHARS, (event.kind, len(letter["error"]["message"]))
    assert base64.b64decode(letter["value_b64"]) == event.raw
    assert letter["key_b64"] == base64.b64encode(event.key).decode()
    assert (letter["partition"], letter["offset"]) == (0, 11)
    found = salvage(event.raw)
    replies = sender.on(REPLIES)
    if found.request_id and found.reply_to == REPLIES:
        [reply] = replies
        assert reply["status"] == "error" and reply["error"]["code"] == code
        assert reply["request_id"] == found.request_id
    else:
        assert replies == []
    # nothing but an error reply and a dead letter: no usage, no write to any other topic
    assert {topic for topic, _, _ in sender.sent} <= {REPLIES, NAMES.dead_letters}


def check_valid(event: FuzzEvent, router: RecordingRouter, sender: SizeLimitedRecorder) -> None:
    parsed = orjson.loads(event.raw)
    assert router.calls == [parsed["request_id"]], event.kind
    [reply] = sender.on(REPLIES)
    assert reply["status"] == "ok" and reply["tenant"] == parsed["tenant"] == "acme"
    assert sender.on(NAMES.dead_letters) == []
    # hostile text in metadata or content never redirects the answer
    assert {topic for topic, _, _ in sender.sent} == {REPLIES, NAMES.usage}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_event_ends_as_a_clear_error_or_a_normal_answer(name: str) -> None:
    @settings(max_examples=40, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(event=CLASSES[name](TARGET))
    def property_(event: FuzzEvent) -> None:
        router, sender = asyncio.run(run(event))
        if event.valid:
            check_valid(event, router, sender)
        else:
            check_invalid(event, router, sender)

    property_()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(invalid_events(TARGET), min_size=2, max_size=8))
async def test_one_gateway_survives_a_stream_of_bad_events_and_still_serves(events: list[FuzzEvent]) -> None:
    router, sender = RecordingRouter(), SizeLimitedRecorder()
    gw = gateway(router, sender)
    for offset, event in enumerate(events):
        await gw.handle(event.raw, event.key, partition=0, offset=offset)
    good = orjson.dumps({"request_id": "after-the-storm", "tenant": "acme", "model": "default",
                         "messages": [{"role": "user", "content": "hi"}], "reply_to": REPLIES})
    await gw.handle(good, b"acme", partition=0, offset=len(events))
    assert router.calls == ["after-the-storm"]
    assert len(sender.on(NAMES.dead_letters)) == len(events)
    assert sender.on(REPLIES)[-1]["request_id"] == "after-the-storm"
