"""Gaps the fuzzer found, now fixed; each test keeps the fix in place."""

from __future__ import annotations

import orjson
import pytest

from tests.faults.test_fuzz_requests import (
    MAX_MESSAGE_CHARS,
    NAMES,
    RecordingRouter,
    SizeLimitedRecorder,
    gateway,
)
from tokenyard.errors import InvalidRequest
from tokenyard.schemas.codec import decode_request

BASE = {"request_id": "gap", "tenant": "acme", "model": "default",
        "messages": [{"role": "user", "content": "hi"}], "reply_to": "tokenyard.replies"}


def test_error_messages_do_not_grow_with_attacker_field_names() -> None:
    with pytest.raises(InvalidRequest) as info:
        decode_request(orjson.dumps({**BASE, "k" * 100_000: 1}))
    assert len(info.value.message) <= MAX_MESSAGE_CHARS
    assert len(orjson.dumps(info.value.to_wire())) <= 4 * MAX_MESSAGE_CHARS


async def test_a_large_event_near_the_record_limit_is_still_dead_lettered() -> None:
    router, sender = RecordingRouter(), SizeLimitedRecorder()
    big = orjson.dumps({**BASE, "messages": [{"role": "user", "content": "x" * 900_000}]})
    await gateway(router, sender).handle(big, b"acme", partition=0, offset=1)  # raises today
    [letter] = sender.on(NAMES.dead_letters)
    assert letter["error"]["code"] == "prompt_too_large"


@pytest.mark.parametrize(
    "change",
    [{"params": {"max_tokens": True}}, {"params": {"max_tokens": 5.0}}, {"params": {"seed": "12"}},
     {"stream": "yes"}, {"deadline_ms": "1800000000000"}],
)
def test_wrong_json_types_are_refused_not_coerced(change: dict) -> None:
    with pytest.raises(InvalidRequest):
        decode_request(orjson.dumps({**BASE, **change}))
