"""Request signatures: canonical form, sign/verify round trip, every rejection."""

from __future__ import annotations

import hashlib
import hmac

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenyard.errors import Unauthenticated
from tokenyard.schemas.codec import dumps
from tokenyard.schemas.records import Request
from tokenyard.security import AuthConfig, Signer, canonical_bytes, sign, verify
from tokenyard.security.config import Keyring, SigningKey

NOW_MS = 1_800_000_000_000
SECRET_OLD = b"old-secret-0123456789abcdef"
SECRET_NEW = b"new-secret-0123456789abcdef"


def keyring(required: bool = True) -> Keyring:
    keys = {
        "acme-1": SigningKey("acme-1", "acme", SECRET_OLD),
        "acme-2": SigningKey("acme-2", "acme", SECRET_NEW),
        "gx-1": SigningKey("gx-1", "globex", b"globex-secret-0123456789"),
    }
    return Keyring(keys, required=required, max_skew_ms=300_000)


def body(**changes) -> dict:
    value = {
        "request_id": "r1",
        "tenant": "acme",
        "model": "default",
        "messages": [{"role": "user", "content": "héllo \"world\"\n"}],
        "params": {"temperature": 0.7, "max_tokens": 5},
        "reply_to": "tokenyard.replies",
        "metadata": {"z": "1", "a": "2"},
    }
    value.update(changes)
    return value


def check(value: dict, ring: Keyring | None = None, now_ms: int = NOW_MS) -> str:
    """What the gateway does: parse the wire bytes, validate, verify."""
    parsed = orjson.loads(orjson.dumps(value))
    return verify(Request.model_validate(parsed), parsed, ring or keyring(), now_ms)


def rejected(value: dict, reason: str, ring: Keyring | None = None, now_ms: int = NOW_MS) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as info:
        check(value, ring, now_ms)
    assert info.value.code == "unauthenticated"
    assert info.value.details["reason"] == reason
    return info.value


def test_canonical_form_sorts_keys_at_every_level_and_drops_auth() -> None:
    value = {"b": {"z": 1, "a": [{"y": 1.5, "x": "é"}]}, "a": 0.7, "auth": {"k": 1}}
    assert canonical_bytes(value) == '{"a":0.7,"b":{"a":[{"x":"é","y":1.5}],"z":1}}'.encode()


def test_signature_is_hmac_sha256_over_key_id_timestamp_and_canonical_body() -> None:
    signed = sign(body(), "acme-1", SECRET_OLD, NOW_MS)
    canonical = orjson.dumps(body(), option=orjson.OPT_SORT_KEYS)
    expected = hmac.new(SECRET_OLD, b"acme-1\n" + str(NOW_MS).encode() + b"\n" + canonical, hashlib.sha256)
    assert signed["auth"] == {"key_id": "acme-1", "timestamp_ms": NOW_MS, "signature": expected.hexdigest()}
    assert "auth" not in body()  # sign returns a copy


def test_both_keys_of_a_rotating_tenant_verify() -> None:
    assert check(sign(body(), "acme-1", SECRET_OLD, NOW_MS)) == "acme"
    assert check(sign(body(), "acme-2", SECRET_NEW, NOW_MS)) == "acme"


def test_key_order_and_whitespace_on_the_wire_do_not_matter() -> None:
    signed = sign(body(), "acme-1", SECRET_OLD, NOW_MS)
    reordered = dict(reversed(list(signed.items())))
    pretty = orjson.loads(orjson.dumps(reordered, option=orjson.OPT_INDENT_2))
    assert verify(Request.model_validate(pretty), pretty, keyring(), NOW_MS) == "acme"


def test_unsigned_is_rejected_when_required_and_passes_with_the_claimed_tenant_otherwise() -> None:
    err = rejected(body(), "unsigned")
    assert "not signed" in err.message
    assert check(body(), keyring(required=False)) == "acme"


def test_a_signed_request_is_verified_even_when_signing_is_optional() -> None:
    signed = sign(body(), "acme-1", b"not-the-right-secret-000", NOW_MS)
    rejected(signed, "bad_signature", keyring(required=False))


def test_unknown_key_id() -> None:
    err = rejected(sign(body(), "acme-9", SECRET_OLD, NOW_MS), "unknown_key")
    assert "'acme-9'" in err.message


def test_a_tenant_cannot_sign_as_another_tenant() -> None:
    # globex signs correctly with its own key but claims to be acme
    forged = sign(body(), "gx-1", b"globex-secret-0123456789", NOW_MS)
    err = rejected(forged, "wrong_tenant")
    assert "not a key of tenant 'acme'" in err.message and "globex" not in err.message


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v["messages"][0].update(content="something else"),
        lambda v: v.update(tenant="acme", reply_to="tokenyard.replies.attacker"),
        lambda v: v["params"].update(max_tokens=100000),
        lambda v: v.update(request_id="r2"),
        lambda v: v["metadata"].update(extra="x"),
        lambda v: v["auth"].update(timestamp_ms=NOW_MS + 1),
        lambda v: v["auth"].update(key_id="acme-2"),
        lambda v: v["auth"].update(signature=v["auth"]["signature"].upper()),
    ],
)
def test_any_change_after_signing_breaks_the_signature(tamper) -> None:
    signed = sign(body(), "acme-1", SECRET_OLD, NOW_MS)
    tamper(signed)
    rejected(signed, "bad_signature")


@pytest.mark.parametrize(("offset_ms", "word"), [(-300_001, "old"), (300_001, "in the future")])
def test_timestamp_outside_the_skew_window(offset_ms: int, word: str) -> None:
    signed = sign(body(), "acme-1", SECRET_OLD, NOW_MS + offset_ms)
    err = rejected(signed, "timestamp_skew")
    assert word in err.message and "300 s" in err.message


def test_timestamp_at_the_edge_of_the_window_passes() -> None:
    assert check(sign(body(), "acme-1", SECRET_OLD, NOW_MS - 300_000)) == "acme"


def test_signer_signs_what_the_client_publishes() -> None:
    request = Request.model_validate(body(stream=True, deadline_ms=NOW_MS + 5000))
    signer = Signer("acme-2", SECRET_NEW.decode(), clock=lambda: NOW_MS / 1000)
    signed = signer.sign(request)
    assert signed.auth is not None and signed.auth.timestamp_ms == NOW_MS
    wire = orjson.loads(dumps(signed))  # the bytes TokenyardClient.publish sends
    assert verify(Request.model_validate(wire), wire, keyring(), NOW_MS) == "acme"
    assert "new-secret" not in repr(signer)


def test_no_secret_in_reprs_or_error_messages() -> None:
    ring = AuthConfig(tenants={"acme": [{"key_id": "k1", "secret_env": "K1"}]}).resolve(
        {"K1": "super-secret-value-123"}
    )
    assert "super-secret" not in repr(ring) and "super-secret" not in repr(ring.key("k1"))
    signed = sign(body(), "k1", b"wrong-secret-0000000000", NOW_MS)
    with pytest.raises(Unauthenticated) as info:
        check(signed, ring)
    wire = orjson.dumps(info.value.to_wire())
    assert b"super-secret" not in wire


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(extra=st.dictionaries(st.text(max_size=10), json_values, max_size=5))
def test_canonical_form_survives_a_round_trip_through_the_wire(extra: dict) -> None:
    # Whatever a client signs, re-parsing the bytes it sends gives the same canonical form.
    value = {**extra, "tenant": "acme"}
    signed = sign(value, "acme-1", SECRET_OLD, NOW_MS)
    parsed = orjson.loads(orjson.dumps(signed))
    assert canonical_bytes(parsed) == canonical_bytes(value)
    assert parsed["auth"]["signature"] == signed["auth"]["signature"]
