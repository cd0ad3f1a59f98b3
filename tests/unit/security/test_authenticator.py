"""The gateway's authentication step: verify, Kafka key binding, replay."""

from __future__ import annotations

import orjson
import pytest

from tokenyard.errors import Unauthenticated
from tokenyard.schemas.records import Request
from tokenyard.security import AuthConfig, Authenticator, sign

NOW_MS = 1_800_000_000_000
SECRET = "acme-secret-0123456789"


def authenticator(required: bool = True) -> Authenticator:
    config = AuthConfig(required=required, tenants={"acme": [{"key_id": "acme-1", "secret_env": "ACME"}]})
    return Authenticator.from_config(config, {"ACME": SECRET})


def event(now_ms: int = NOW_MS, **changes) -> tuple[Request, dict]:
    value = {"request_id": "r1", "tenant": "acme", "model": "default",
             "messages": [{"role": "user", "content": "hi"}], "reply_to": "tokenyard.replies", **changes}
    parsed = orjson.loads(orjson.dumps(sign(value, "acme-1", SECRET, now_ms)))
    return Request.model_validate(parsed), parsed


def test_a_signed_request_proves_its_tenant() -> None:
    request, raw = event()
    assert authenticator().check(request, raw, NOW_MS, message_key=b"acme", partition=1, offset=3) == "acme"


def test_a_replayed_copy_is_refused_but_a_redelivery_is_served() -> None:
    auth = authenticator()
    request, raw = event()
    auth.check(request, raw, NOW_MS, message_key=b"acme", partition=1, offset=3)
    auth.check(request, raw, NOW_MS + 50, message_key=b"acme", partition=1, offset=3)
    with pytest.raises(Unauthenticated) as info:
        auth.check(request, raw, NOW_MS + 60, message_key=b"acme", partition=1, offset=4)
    assert info.value.details["reason"] == "replayed"


@pytest.mark.parametrize("key", [b"globex", None, b"x" * 10_000])
def test_a_signed_request_must_be_keyed_by_its_tenant(key: bytes | None) -> None:
    request, raw = event()
    with pytest.raises(Unauthenticated) as info:
        authenticator().check(request, raw, NOW_MS, message_key=key)
    assert info.value.details["reason"] == "key_mismatch"
    assert len(info.value.message) < 300  # a huge key is not echoed back


def test_forged_events_do_not_fill_the_replay_memory() -> None:
    auth = authenticator()
    request, raw = event()
    raw["request_id"] = "r2"
    with pytest.raises(Unauthenticated):
        auth.check(Request.model_validate(raw), raw, NOW_MS, message_key=b"acme")
    assert len(auth.replay) == 0


def test_unsigned_requests_pass_with_the_claimed_tenant_when_signing_is_optional() -> None:
    value = {"request_id": "r1", "tenant": "anyone", "model": "default",
             "messages": [{"role": "user", "content": "hi"}], "reply_to": "tokenyard.replies"}
    request = Request.model_validate(value)
    assert authenticator(required=False).check(request, value, NOW_MS, message_key=None) == "anyone"
    with pytest.raises(Unauthenticated):
        authenticator(required=True).check(request, value, NOW_MS, message_key=b"anyone")
