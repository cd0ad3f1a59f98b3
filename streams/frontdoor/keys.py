"""API keys -> tenants, for ``Authorization: Bearer <key>``.

The keys file is TOML; plain keys are convenient locally, hashed keys keep the file
harmless if it leaks (the value is ``sha256(key)`` in hex: ``printf %s "$KEY" | sha256sum``):

    [keys]
    "sk-local-dev" = "acme"

    [hashed_keys]
    "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" = "globex"

Only digests are kept in memory. A presented key is hashed and compared with
every known digest using :func:`hmac.compare_digest`, without stopping at the first
match, so the time taken says nothing about which digest (or how much of it) matched.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from tokenyard.errors import ConfigError, Unauthenticated

Tenant = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$")]
HexDigest = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]


class KeysFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    keys: dict[Annotated[str, StringConstraints(min_length=8)], Tenant] = Field(default_factory=dict)
    hashed_keys: dict[HexDigest, Tenant] = Field(default_factory=dict)


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    def __init__(self, digests: Mapping[bytes, str]) -> None:
        if not digests:
            raise ConfigError("the keys file names no key: nobody could call the front door")
        self._entries = tuple(digests.items())

    @classmethod
    def from_file(cls, path: Path | str) -> KeyRing:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"keys file {path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"keys file {path} is not valid TOML: {exc}") from exc
        return cls.from_mapping(data, where=str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], *, where: str = "keys") -> KeyRing:
        try:
            parsed = KeysFile.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            # Never echo a key back: name the section, not the key itself.
            section = str(first["loc"][0]) if first["loc"] else "(top level)"
            raise ConfigError(f"{where}: [{section}]: {first['msg']}", key=section) from exc
        digests: dict[bytes, str] = {}
        pairs = [(digest(k), t) for k, t in parsed.keys.items()]
        pairs += [(bytes.fromhex(h), t) for h, t in parsed.hashed_keys.items()]
        for found, tenant in pairs:
            if digests.get(found, tenant) != tenant:
                raise ConfigError(f"{where}: one key is mapped to two tenants ({digests[found]}, {tenant})")
            digests[found] = tenant
        return cls(digests)

    def tenant_for(self, authorization: str | None) -> str:
        """The tenant of an ``Authorization`` header value; :class:`Unauthenticated` otherwise."""
        if not authorization:
            raise Unauthenticated(
                "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
            )
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthenticated("The Authorization header must be 'Bearer YOUR_KEY'.")
        presented = digest(key.strip())
        found: str | None = None
        for known, tenant in self._entries:
            if hmac.compare_digest(known, presented):
                found = tenant
        if found is None:
            raise Unauthenticated("Incorrect API key provided.")
        return found

    def __len__(self) -> int:
        return len(self._entries)
