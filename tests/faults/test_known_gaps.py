"""Gaps the fuzzer found in code this suite does not own; each is a strict xfail, so
the fix turns it into a failure that tells whoever fixed it to drop the marker.

Owners: schemas/codec.py and schemas/records.py (1, 3), agents/gateway.py + publish (2).
"""

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


@pytest.mark.xfail(strict=True, reason="codec.validate quotes field names whole: a 100 kB unknown key "
                   "makes a 100 kB error message in the reply and the dead letter")
def test_error_messages_do_not_grow_with_attacker_field_names() -> None:
    with pytest.raises(InvalidRequest) as info:
        decode_request(orjson.dumps({**BASE, "k" * 100_000: 1}))
    assert len(info.value.message) <= MAX_MESSAGE_CHARS
    assert len(orjson.dumps(info.value.to_wire())) <= 4 * MAX_MESSAGE_CHARS


@pytest.mark.xfail(strict=True, reason="a dead letter is the event base64-encoded (+33%) plus the error: "
                   "an event over ~740 kB makes a dead letter over the producer's 1 MB record limit, "
                   "the send raises and Gateway.handle raises with it (the agent would crash)")
async def test_a_large_event_near_the_record_limit_is_still_dead_lettered() -> None:
    router, sender = RecordingRouter(), SizeLimitedRecorder()
    big = orjson.dumps({**BASE, "messages": [{"role": "user", "content": "x" * 900_000}]})
    await gateway(router, sender).handle(big, b"acme", partition=0, offset=1)  # raises today
    [letter] = sender.on(NAMES.dead_letters)
    assert letter["error"]["code"] == "prompt_too_large"


@pytest.mark.xfail(strict=True, reason="wire records validate in pydantic's lax mode: true, 1.0 and '12' "
                   "are accepted as integers and 'yes' as a boolean")
@pytest.mark.parametrize(
    "change",
    [{"params": {"max_tokens": True}}, {"params": {"max_tokens": 5.0}}, {"params": {"seed": "12"}},
     {"stream": "yes"}, {"deadline_ms": "1800000000000"}],
)
def test_wrong_json_types_are_refused_not_coerced(change: dict) -> None:
    with pytest.raises(InvalidRequest):
        decode_request(orjson.dumps({**BASE, **change}))
