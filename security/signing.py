"""Request signatures: HMAC-SHA256 over the canonical request.

The canonical form of a request is its JSON object without the ``auth`` field,
serialised with sorted keys at every level, no whitespace, UTF-8 (orjson with
``OPT_SORT_KEYS``). The signature is the lowercase hex HMAC-SHA256, keyed with
the tenant's secret, of::

    f"{key_id}\\n{timestamp_ms}\\n" + canonical

so the key id and timestamp cannot be swapped without breaking it. The gateway
canonicalises the object it *parsed from the wire*, not the validated record, so
defaults it fills in never change what was signed; a client only has to
serialise the numbers it sends the way it sends them (see docs/security.md).

Pure: the clock is an argument everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from tokenyard.errors import Unauthenticated
from tokenyard.schemas.records import Auth, Request
from tokenyard.security.config import Keyring

AUTH_FIELD = "auth"


def canonical_bytes(request_value: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the request object minus ``auth``, keys sorted."""
    unsigned = {k: v for k, v in request_value.items() if k != AUTH_FIELD}
    return orjson.dumps(unsigned, option=orjson.OPT_SORT_KEYS)


def signature_for(canonical: bytes, key_id: str, timestamp_ms: int, secret: bytes) -> str:
    message = f"{key_id}\n{timestamp_ms}\n".encode() + canonical
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(request_value: Mapping[str, Any], key_id: str, secret: bytes | str, now_ms: int) -> dict[str, Any]:
    """A copy of ``request_value`` (the JSON object to publish) with ``auth`` added."""
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    signature = signature_for(canonical_bytes(request_value), key_id, now_ms, secret_bytes)
    signed = {k: v for k, v in request_value.items() if k != AUTH_FIELD}
    signed[AUTH_FIELD] = {"key_id": key_id, "timestamp_ms": now_ms, "signature": signature}
    return signed


class Signer:
    """Signs requests for one tenant key; what ``TokenyardClient`` holds.

    The secret stays out of ``repr``. Sign each *send*: a re-sent request needs a
    fresh signature, since the gateway rejects a signature it has seen (the
    request_id still lets the gateway answer it from its completed-requests record).
    """

    def __init__(self, key_id: str, secret: bytes | str, *, clock: Callable[[], float] = time.time) -> None:
        self.key_id = key_id
        self._secret = secret.encode() if isinstance(secret, str) else secret
        self._clock = clock

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"

    def sign(self, request: Request) -> Request:
        # Exactly the object the client publishes (schemas.codec.dumps), so the
        # gateway canonicalises the same values it was sent.
        value = request.model_dump(mode="json", exclude_none=True)
        signed = sign(value, self.key_id, self._secret, int(self._clock() * 1000))
        return request.model_copy(update={"auth": Auth.model_validate(signed[AUTH_FIELD])})


def verify(
    request: Request,
    raw_value: Mapping[str, Any],
    keyring: Keyring,
    now_ms: int,
) -> str:
    """The tenant the request is proven (or, unsigned and allowed, claimed) to be.

    ``raw_value`` is the JSON object as parsed from the event (the one ``request``
    was validated from). Raises :class:`Unauthenticated` naming the problem. The
    replay check is separate (:class:`~tokenyard.security.replay.ReplayGuard`)
    because it needs state; :class:`~tokenyard.security.authenticator.Authenticator`
    runs both.
    """
    auth = request.auth
    if auth is None:
        if keyring.required:
            raise Unauthenticated(
                f"request is not signed: this gateway requires an 'auth' object "
                f"(key_id, timestamp_ms, signature) on every request (tenant {request.tenant!r})",
                reason="unsigned",
            )
        return request.tenant
    key = keyring.key(auth.key_id)
    if key is None:
        raise Unauthenticated(f"unknown key id {auth.key_id!r}", reason="unknown_key", key_id=auth.key_id)
    if key.tenant != request.tenant:
        # Do not say whose key it is: that would map key ids to tenants for anyone.
        raise Unauthenticated(
            f"key id {auth.key_id!r} is not a key of tenant {request.tenant!r}",
            reason="wrong_tenant", key_id=auth.key_id,
        )
    expected = signature_for(canonical_bytes(raw_value), auth.key_id, auth.timestamp_ms, key.secret)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise Unauthenticated(
            f"bad signature for key id {auth.key_id!r}: expected lowercase hex HMAC-SHA256 of "
            "key_id, timestamp_ms and the canonical request (sorted keys, no whitespace, without 'auth')",
            reason="bad_signature", key_id=auth.key_id,
        )
    skew_ms = now_ms - auth.timestamp_ms
    if abs(skew_ms) > keyring.max_skew_ms:
        direction = "old" if skew_ms > 0 else "in the future"
        raise Unauthenticated(
            f"signature timestamp is {abs(skew_ms) / 1000:.1f} s {direction}, outside the allowed "
            f"{keyring.max_skew_ms / 1000:g} s skew: sign each request when sending it",
            reason="timestamp_skew", key_id=auth.key_id, skew_ms=skew_ms,
        )
    return key.tenant
