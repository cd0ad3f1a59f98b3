"""Which tenant keys exist, and where their secrets live.

The config names an environment variable per key, never the secret itself, so
the TOML file can be committed and shown. ``resolve(environ)`` reads the secrets
once, at start, and fails with a :class:`~tokenyard.errors.ConfigError` naming
every variable that is missing or too short. Secrets are kept as bytes in
:class:`SigningKey`, whose ``repr`` leaves them out, so a logged key ring or
an exception carrying one shows no secret.

    [auth]
    required = true
    max_skew_s = 300
    [auth.tenants]
    acme = [{ key_id = "acme-2026-01", secret_env = "TOKENYARD_KEY_ACME_1" },
            { key_id = "acme-2026-07", secret_env = "TOKENYARD_KEY_ACME_2" }]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tokenyard.errors import ConfigError
from tokenyard.schemas.records import Identifier

# HMAC-SHA256 keys shorter than this are guessable; 32 random bytes is the advice.
MIN_SECRET_BYTES = 16
# Two keys at once: the old one still valid while clients move to the new one.
MAX_KEYS_PER_TENANT = 2

EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=128)]


class KeyRef(BaseModel):
    """One tenant key: its public id and the environment variable holding its secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: Identifier
    secret_env: EnvVarName


class AuthConfig(BaseModel):
    """The ``[auth]`` section. Off by default: unsigned requests are accepted."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # False: unsigned requests pass with the tenant they claim (signed ones are
    # still verified) - the rollout mode while clients start signing.
    required: bool = False
    # How far a request's timestamp may be from the gateway's clock, either way.
    # It also bounds how long the replay guard must remember a signature.
    max_skew_s: float = Field(default=300.0, gt=0, le=86_400)
    # Signatures one worker remembers; see ReplayGuard for what happens when full.
    replay_capacity: int = Field(default=200_000, ge=1, le=50_000_000)
    tenants: dict[Identifier, Annotated[list[KeyRef], Field(min_length=1, max_length=MAX_KEYS_PER_TENANT)]] = (
        Field(default_factory=dict)
    )

    @model_validator(mode="after")
    def _key_ids_are_unique(self) -> AuthConfig:
        owner: dict[str, str] = {}
        for tenant, refs in self.tenants.items():
            for ref in refs:
                if ref.key_id in owner:
                    raise ValueError(
                        f"key id {ref.key_id!r} is listed for tenant {owner[ref.key_id]!r} and "
                        f"tenant {tenant!r}: a key id must name one key of one tenant"
                    )
                owner[ref.key_id] = tenant
        return self

    def resolve(self, environ: Mapping[str, str]) -> Keyring:
        """Read every secret from ``environ``; raise ConfigError naming each missing one."""
        if self.required and not self.tenants:
            raise ConfigError(
                "auth.required is true but auth.tenants names no tenant: every request would be rejected",
                key="auth.tenants",
            )
        keys: dict[str, SigningKey] = {}
        missing: list[str] = []
        short: list[str] = []
        for tenant, refs in self.tenants.items():
            for ref in refs:
                secret = environ.get(ref.secret_env)
                if not secret:
                    missing.append(ref.secret_env)
                    continue
                encoded = secret.encode()
                if len(encoded) < MIN_SECRET_BYTES:
                    short.append(ref.secret_env)
                    continue
                keys[ref.key_id] = SigningKey(ref.key_id, tenant, encoded)
        problems = []
        if missing:
            problems.append("environment variable(s) not set: " + ", ".join(missing))
        if short:
            problems.append(
                f"secret(s) shorter than {MIN_SECRET_BYTES} bytes in: " + ", ".join(short)
            )
        if problems:
            raise ConfigError("auth.tenants: " + "; ".join(problems), key="auth.tenants")
        return Keyring(keys, required=self.required, max_skew_ms=int(self.max_skew_s * 1000))


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    tenant: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class Keyring:
    """Resolved keys by key id, and the policy that goes with them."""

    keys: Mapping[str, SigningKey] = field(repr=False)
    required: bool = False
    max_skew_ms: int = 300_000

    def key(self, key_id: str) -> SigningKey | None:
        return self.keys.get(key_id)

    def key_ids(self, tenant: str) -> list[str]:
        return sorted(k.key_id for k in self.keys.values() if k.tenant == tenant)

    def __repr__(self) -> str:
        return f"Keyring({len(self.keys)} keys, required={self.required}, max_skew_ms={self.max_skew_ms})"
