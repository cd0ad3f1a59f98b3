"""The gateway's authentication step: signature, skew, Kafka key, replay.

One :class:`Authenticator` per worker process. It runs after the event decoded
into a :class:`~tokenyard.schemas.records.Request` and before anything that can
cost money (cache lookups, admission, providers); it raises
:class:`~tokenyard.errors.Unauthenticated`, a ``RequestError``, so the gateway's
existing bad-input path sends the error reply and the dead letter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenyard.errors import Unauthenticated
from tokenyard.schemas.records import Request
from tokenyard.security.config import AuthConfig, Keyring
from tokenyard.security.replay import ReplayGuard
from tokenyard.security.signing import verify


class Authenticator:
    def __init__(self, keyring: Keyring, *, replay_capacity: int = 200_000) -> None:
        self.keyring = keyring
        self.replay = ReplayGuard(window_ms=keyring.max_skew_ms, capacity=replay_capacity)

    @classmethod
    def from_config(cls, config: AuthConfig, environ: Mapping[str, str]) -> Authenticator:
        return cls(config.resolve(environ), replay_capacity=config.replay_capacity)

    def check(
        self,
        request: Request,
        raw_value: Mapping[str, Any],
        now_ms: int,
        *,
        message_key: bytes | None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> str:
        """The tenant the signature proves (or the claimed one, where signing is optional)."""
        tenant = verify(request, raw_value, self.keyring, now_ms)
        auth = request.auth
        if auth is None:
            return tenant
        if message_key != tenant.encode():
            # Replay protection is per partition owner; it holds only if every copy
            # of a tenant's request lands in the tenant's partition (see ReplayGuard).
            shown = "none" if message_key is None else repr(message_key[:64].decode("utf-8", "replace"))
            raise Unauthenticated(
                f"signed requests must be published with the tenant as the Kafka key; "
                f"the key is {shown}, the tenant is {tenant!r}",
                reason="key_mismatch", key_id=auth.key_id,
            )
        self.replay.check(auth.signature, auth.timestamp_ms, now_ms, partition=partition, offset=offset)
        return tenant
