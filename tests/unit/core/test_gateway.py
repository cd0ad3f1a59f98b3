"""The gateway's per-event logic, with an in-memory sender and a scripted router."""

from __future__ import annotations

import base64
from decimal import Decimal

import orjson
import pytest

from tokenyard.agents.gateway import Gateway
from tokenyard.agents.intake import IntakeRules
from tokenyard.agents.publish import Publisher
from tokenyard.errors import AllTargetsFailed, ProviderServerError
from tokenyard.providers.base import Attempt, Completion
from tokenyard.providers.outcome import InvokeOutcome
from tokenyard.schemas.records import Usage
from tokenyard.streams.settings import KafkaSettings
from tokenyard.streams.topics import TopicNames

NAMES = TopicNames.from_settings(KafkaSettings())
NOW = 1_800_000_000.0


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, dict]] = []

    async def __call__(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.sent.append((topic, key, orjson.loads(value)))

    def on(self, topic: str) -> list[dict]:
        return [v for t, _, v in self.sent if t == topic]


class ScriptedRouter:
    def __init__(self, outcome: InvokeOutcome | Exception) -> None:
        self.outcome = outcome
        self.calls: list[tuple[str, float]] = []

    def has_route(self, name: str) -> bool:
        return name == "default"

    async def invoke(self, request, *, deadline_s, on_chunk=None):
        self.calls.append((request.request_id, deadline_s))
        if isinstance(self.outcome, Exception):
            raise self.outcome
        if on_chunk is not None:
            await on_chunk(0, "Par", False)
            await on_chunk(1, "is", False)
        return self.outcome


def ok_outcome() -> InvokeOutcome:
    usage = Usage(input_tokens=10, output_tokens=2)
    completion = Completion("Paris", "stop", usage, "fake", "echo", latency_ms=3.0)
    failed = Attempt(1, "fake", "flaky", ProviderServerError("boom", provider="fake", model="flaky", status=500))
    good = Attempt(2, "fake", "echo", None, usage, Decimal("0.000014"), 3.0)
    return InvokeOutcome("default", completion, None, (failed, good), (failed.error,))


def gateway(router: ScriptedRouter, recorder: Recorder) -> Gateway:
    rules = IntakeRules(
        max_prompt_chars=1000,
        reply_topic_patterns=("tokenyard.replies",),
        internal_topics=NAMES.internal(),
        has_route=router.has_route,
    )
    return Gateway(rules=rules, router=router, publisher=Publisher(recorder, NAMES),
                   default_deadline_s=30.0, clock=lambda: NOW)


def request(**changes) -> bytes:
    value = {"request_id": "r1", "tenant": "acme", "model": "default",
             "messages": [{"role": "user", "content": "capital of France?"}],
             "reply_to": "tokenyard.replies"}
    value.update(changes)
    return orjson.dumps(value)


async def test_success_publishes_reply_then_attempt_and_request_usage() -> None:
    rec, router = Recorder(), ScriptedRouter(ok_outcome())
    await gateway(router, rec).handle(request(), b"acme")
    [reply] = rec.on("tokenyard.replies")
    assert reply["status"] == "ok" and reply["content"] == "Paris" and reply["attempts"] == 2
    assert reply["cost_usd"] == "0.000014"
    usage = rec.on(NAMES.usage)
    assert [u["kind"] for u in usage] == ["attempt", "attempt", "request"]
    assert [u["event_id"] for u in usage] == ["r1/attempt/1", "r1/attempt/2", "r1/request"]
    assert usage[0]["status"] == "provider_server_error"
    assert usage[2]["fallback_depth"] == 1 and usage[2]["cost_usd"] == "0.000014"
    # no deadline on the request: the default applies
    assert router.calls == [("r1", NOW + 30.0)]
    assert rec.on(NAMES.dead_letters) == []


async def test_streamed_request_gets_ordered_chunks_before_the_reply() -> None:
    rec = Recorder()
    await gateway(ScriptedRouter(ok_outcome()), rec).handle(request(stream=True), b"acme")
    on_reply_topic = rec.on("tokenyard.replies")
    assert [m["type"] for m in on_reply_topic] == ["chunk", "chunk", "reply"]
    assert [m.get("seq") for m in on_reply_topic[:2]] == [0, 1]


async def test_all_targets_failed_is_an_error_reply_not_a_dead_letter() -> None:
    err = ProviderServerError("boom", provider="fake", model="echo", status=500)
    outcome = InvokeOutcome("default", None, AllTargetsFailed("default", [err]),
                            (Attempt(1, "fake", "echo", err),), (err,))
    rec = Recorder()
    await gateway(ScriptedRouter(outcome), rec).handle(request(), b"acme")
    [reply] = rec.on("tokenyard.replies")
    assert reply["error"]["code"] == "all_targets_failed"
    assert "fake:echo" in reply["error"]["message"]
    assert rec.on(NAMES.dead_letters) == []
    assert rec.on(NAMES.usage)[-1]["status"] == "all_targets_failed"


async def test_a_bug_in_a_stage_becomes_an_internal_error_and_a_dead_letter() -> None:
    rec = Recorder()
    await gateway(ScriptedRouter(RuntimeError("oops")), rec).handle(request(), b"acme", partition=1, offset=7)
    [reply] = rec.on("tokenyard.replies")
    assert reply["error"]["code"] == "internal_error"
    [letter] = rec.on(NAMES.dead_letters)
    assert (letter["partition"], letter["offset"]) == (1, 7)
    assert base64.b64decode(letter["value_b64"]) == request()


@pytest.mark.parametrize(
    ("raw", "code", "replied"),
    [
        (b"\xff\xfe", "malformed_event", False),
        (request(model="nope"), "unknown_model", True),
        (request(reply_to="tokenyard.requests"), "unknown_reply_topic", False),
        (request(params={"temperature": 9}), "invalid_request", True),
        (request(messages=[{"role": "user", "content": "x" * 1001}]), "prompt_too_large", True),
    ],
)
async def test_bad_input_is_dead_lettered_and_never_invoked(raw: bytes, code: str, replied: bool) -> None:
    rec, router = Recorder(), ScriptedRouter(ok_outcome())
    await gateway(router, rec).handle(raw, b"acme")
    assert router.calls == []
    [letter] = rec.on(NAMES.dead_letters)
    assert letter["error"]["code"] == code
    assert base64.b64decode(letter["value_b64"]) == raw
    replies = rec.on("tokenyard.replies")
    assert len(replies) == (1 if replied else 0)
    if replied:
        assert replies[0]["error"]["code"] == code and replies[0]["request_id"] == "r1"


async def test_late_request_is_answered_but_never_invoked() -> None:
    rec, router = Recorder(), ScriptedRouter(ok_outcome())
    await gateway(router, rec).handle(request(deadline_ms=int(NOW * 1000) - 5), b"acme")
    assert router.calls == []
    [reply] = rec.on("tokenyard.replies")
    assert reply["error"]["code"] == "deadline_exceeded"
    assert rec.on(NAMES.dead_letters) == []
    assert rec.on(NAMES.usage)[0]["status"] == "deadline_exceeded"
