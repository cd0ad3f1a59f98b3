"""Tenant authentication for the request topic.

Each tenant holds one or two secrets (two during a key rotation). A client signs a
request with HMAC-SHA256 over its canonical form (:mod:`.signing`); the gateway
verifies the signature, the timestamp's skew and that the signature was not seen
before (:mod:`.replay`) before anything can cost money. :mod:`.config` reads which
keys exist and where their secrets live; :mod:`.authenticator` puts the checks in
the order the gateway runs them.

Public API::

    AuthConfig(required=..., max_skew_s=..., tenants={...}).resolve(os.environ) -> Keyring
    sign(request_dict, key_id, secret, now_ms) -> dict          # any client
    Signer(key_id, secret).sign(request) -> Request             # the Python client
    verify(request, raw_value, keyring, now_ms, message_key=...) -> tenant
    ReplayGuard(window_ms, capacity).check(signature, timestamp_ms, now_ms, ...)
    Authenticator(keyring).check(request, raw_value, now_ms, ...) -> tenant
"""

from tokenyard.security.authenticator import Authenticator
from tokenyard.security.config import AuthConfig, KeyRef, Keyring, SigningKey
from tokenyard.security.replay import ReplayGuard
from tokenyard.security.signing import Signer, canonical_bytes, sign, signature_for, verify

__all__ = [
    "AuthConfig",
    "Authenticator",
    "KeyRef",
    "Keyring",
    "ReplayGuard",
    "Signer",
    "SigningKey",
    "canonical_bytes",
    "sign",
    "signature_for",
    "verify",
]
