"""The records of the cache topic: entries, tombstones and invalidations.

A shard is the fold of these records in topic order (see :meth:`CacheShard.apply`).
Entries carry their embedding, so a rebuild replays vectors into the index instead of
running the model again (100k prompts would take ~10 minutes of CPU).

Plain slotted dataclasses rather than pydantic models: a shard holds up to a few
hundred thousand entries and every byte per entry counts.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import orjson

from tokenyard.errors import MalformedEvent

WIRE_VERSION = 1


@dataclass(frozen=True, slots=True)
class CacheEntry:
    entry_id: str  # the exact key: a newer answer to the same question replaces the older
    tenant: str  # the tenant whose request produced the answer
    route: str
    scope_id: str
    scope_tenant: str
    prompt: str  # the normalised question, for verification
    content: str
    finish_reason: str
    provider: str
    provider_model: str
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None  # what the original call cost: the saving of each hit
    max_tokens: int | None  # the limit the answer was produced under
    created_at: float
    expires_at: float
    request_id: str = ""
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def exact_key(self) -> str:
        return self.entry_id

    def without_embedding(self) -> CacheEntry:
        return replace(self, embedding=None)

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "cache_entry",
            "schema_version": WIRE_VERSION,
            "entry_id": self.entry_id,
            "tenant": self.tenant,
            "route": self.route,
            "scope_id": self.scope_id,
            "scope_tenant": self.scope_tenant,
            "prompt": self.prompt,
            "content": self.content,
            "finish_reason": self.finish_reason,
            "provider": self.provider,
            "provider_model": self.provider_model,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": None if self.cost_usd is None else str(self.cost_usd),
            "max_tokens": self.max_tokens,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "request_id": self.request_id,
            "embedding_f32_b64": _encode_vector(self.embedding),
        }


@dataclass(frozen=True, slots=True)
class CacheTombstone:
    """Deletes one entry (on Kafka: the entry's key with a null value)."""

    entry_id: str

    def to_wire(self) -> dict[str, Any]:
        return {"type": "cache_tombstone", "schema_version": WIRE_VERSION, "entry_id": self.entry_id}


@dataclass(frozen=True, slots=True)
class CacheInvalidation:
    """Drops every entry matching all given filters that was created at or before ``at``.

    It stays in force during a replay: an older entry that arrives after it (a retried
    produce, another partition's order) is dropped too, so rebuilds agree.
    """

    at: float
    tenant: str | None = None
    route: str | None = None
    scope_id: str | None = None

    def __post_init__(self) -> None:
        if self.tenant is None and self.route is None and self.scope_id is None:
            raise ValueError("an invalidation needs a tenant, a route or a scope_id")

    def matches(self, entry: CacheEntry) -> bool:
        return (
            entry.created_at <= self.at
            and (self.tenant is None or entry.tenant == self.tenant)
            and (self.route is None or entry.route == self.route)
            and (self.scope_id is None or entry.scope_id == self.scope_id)
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "cache_invalidation",
            "schema_version": WIRE_VERSION,
            "at": self.at,
            "tenant": self.tenant,
            "route": self.route,
            "scope_id": self.scope_id,
        }


CacheRecord = CacheEntry | CacheTombstone | CacheInvalidation


def _encode_vector(vector: np.ndarray | None) -> str | None:
    if vector is None:
        return None
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _decode_vector(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    raw = base64.b64decode(text, validate=True)
    if len(raw) % 4:
        raise ValueError("embedding bytes are not a whole number of float32")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def decode_values(values: Sequence[bytes], dimension: int) -> list[tuple[CacheRecord, np.ndarray | None]]:
    """:func:`decode_record` for a batch of the topic's values (a rebuild), vectors apart.

    The base64 of all entries' vectors is decoded in one call into one matrix, rows
    returned beside their (vector-less) entries; a vector of another size is left to
    :func:`decode_record` (the shard then rejects it as the record-at-a-time fold does).
    """
    wires: list[Any] = []
    for value in values:
        try:
            wires.append(orjson.loads(value))
        except orjson.JSONDecodeError as exc:
            raise MalformedEvent(f"cache record is not JSON: {exc}") from exc
    chars = 4 * dimension * 4 // 3  # base64 of dimension float32 without padding, if that divides
    bulk: list[int] = []
    if (4 * dimension) % 3 == 0:
        for i, wire in enumerate(wires):
            if isinstance(wire, dict) and wire.get("type") == "cache_entry":
                text = wire.get("embedding_f32_b64")
                if isinstance(text, str) and len(text) == chars and not text.endswith("="):
                    bulk.append(i)
    matrix = None
    if bulk:
        try:
            raw = base64.b64decode("".join(wires[i]["embedding_f32_b64"] for i in bulk), validate=True)
            matrix = np.frombuffer(raw, dtype="<f4").reshape(len(bulk), dimension)
        except (binascii.Error, ValueError):
            bulk = []  # a bad character somewhere: decode_record names the record
    vectors: list[np.ndarray | None] = [None] * len(wires)
    for row, i in enumerate(bulk):
        wires[i]["embedding_f32_b64"] = None
        assert matrix is not None
        vectors[i] = matrix[row]
    return [(decode_record(wire), vector) for wire, vector in zip(wires, vectors, strict=True)]


def encode_record(record: CacheRecord) -> bytes:
    return orjson.dumps(record.to_wire())


def decode_record(data: bytes | dict[str, Any]) -> CacheRecord:
    """Bytes or a decoded dict from the cache topic; MalformedEvent names what is wrong."""
    try:
        wire = orjson.loads(data) if isinstance(data, bytes | bytearray | memoryview | str) else data
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent(f"cache record is not JSON: {exc}") from exc
    if not isinstance(wire, dict):
        raise MalformedEvent("cache record is not a JSON object")
    kind = wire.get("type")
    try:
        if kind == "cache_entry":
            cost = wire["cost_usd"]
            return CacheEntry(
                entry_id=str(wire["entry_id"]),
                tenant=str(wire["tenant"]),
                route=str(wire["route"]),
                scope_id=str(wire["scope_id"]),
                scope_tenant=str(wire["scope_tenant"]),
                prompt=str(wire["prompt"]),
                content=str(wire["content"]),
                finish_reason=str(wire["finish_reason"]),
                provider=str(wire["provider"]),
                provider_model=str(wire["provider_model"]),
                input_tokens=int(wire["input_tokens"]),
                output_tokens=int(wire["output_tokens"]),
                cost_usd=None if cost is None else Decimal(cost),
                max_tokens=None if wire["max_tokens"] is None else int(wire["max_tokens"]),
                created_at=float(wire["created_at"]),
                expires_at=float(wire["expires_at"]),
                request_id=str(wire.get("request_id", "")),
                embedding=_decode_vector(wire.get("embedding_f32_b64")),
            )
        if kind == "cache_tombstone":
            return CacheTombstone(entry_id=str(wire["entry_id"]))
        if kind == "cache_invalidation":
            return CacheInvalidation(
                at=float(wire["at"]),
                tenant=wire.get("tenant"),
                route=wire.get("route"),
                scope_id=wire.get("scope_id"),
            )
    except KeyError as exc:
        raise MalformedEvent(f"{kind} record lacks field {exc.args[0]!r}") from exc
    except (TypeError, ValueError, InvalidOperation, binascii.Error) as exc:
        raise MalformedEvent(f"{kind} record has a bad value: {exc}") from exc
    raise MalformedEvent(f"unknown cache record type {kind!r}")
