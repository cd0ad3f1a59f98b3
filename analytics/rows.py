"""Usage events as fact-table rows: validation and the column-wise layout.

Validation goes past the wire schema to what the table can hold (a cost that does
not fit Decimal(18, 9), an attempt number past UInt16, a NaN latency): such a row
would fail the whole insert forever, so it is a poison row and goes to the dead
letters instead of into a retry loop.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

import orjson
import pyarrow as pa
from pydantic import ValidationError

from tokenyard.errors import InvalidRequest, MalformedEvent, RequestError
from tokenyard.schemas.records import UsageEvent

FACT_TABLE = "usage_events"

# Fact-table column -> how to read it off a UsageEvent. Order is the insert order.
COLUMNS: tuple[str, ...] = (
    "ts", "event_id", "kind", "request_id", "attempt", "tenant", "route", "provider",
    "model", "status", "error_code", "input_tokens", "output_tokens",
    "cached_input_tokens", "reasoning_tokens", "cost", "cost_unknown", "cost_saved",
    "cached", "similarity", "latency_ms", "ttft_ms", "fallback_depth", "priority", "tags",
)  # fmt: skip

# The Arrow layout of the insert block, in COLUMNS order. ClickHouse converts each type
# to the column's (strings to LowCardinality, timestamp[ms] to DateTime64(3)).
_TEXT = pa.string()
_ARROW_TYPES: dict[str, pa.DataType] = {
    "ts": pa.timestamp("ms", tz="UTC"), "event_id": _TEXT, "kind": _TEXT, "request_id": _TEXT,
    "attempt": pa.uint16(), "tenant": _TEXT, "route": _TEXT, "provider": _TEXT, "model": _TEXT,
    "status": _TEXT, "error_code": _TEXT, "input_tokens": pa.uint64(),
    "output_tokens": pa.uint64(), "cached_input_tokens": pa.uint64(),
    "reasoning_tokens": pa.uint64(), "cost": pa.decimal128(18, 9), "cost_unknown": pa.bool_(),
    "cost_saved": pa.decimal128(18, 9), "cached": pa.bool_(), "similarity": pa.float32(),
    "latency_ms": pa.float64(), "ttft_ms": pa.float64(), "fallback_depth": pa.uint8(),
    "priority": _TEXT, "tags": pa.map_(_TEXT, _TEXT),
}  # fmt: skip
_NANO = Decimal("1e-9")

_MAX_COST = Decimal("999999999")  # Decimal(18, 9) holds 9 integer digits
_MAX_TS_MS = 10_413_791_999_999  # 2299-12-31T23:59:59.999Z, the end of DateTime64
_MAX_TOKENS = 2**63 - 1
_MAX_ID_CHARS = 512


@dataclass(frozen=True)
class PoisonRow:
    """A value that can never be inserted, with the error for its dead letter."""

    value: Any
    error: RequestError
    position: Any = None


def parse_usage_event(value: UsageEvent | bytes | str | Mapping[str, Any]) -> UsageEvent:
    """A usage event the fact table can hold, or ``MalformedEvent``/``InvalidRequest``."""
    if isinstance(value, UsageEvent):
        event = value
    else:
        if isinstance(value, (bytes, bytearray, str)):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise MalformedEvent(f"usage event is not JSON: {exc}") from exc
        if not isinstance(value, Mapping):
            raise MalformedEvent(f"usage event is not a JSON object but {type(value).__name__}")
        try:
            event = UsageEvent.model_validate(value)
        except ValidationError as exc:
            raise InvalidRequest(
                f"usage event violates the schema: {_first_error(exc)}",
                errors=exc.errors(include_url=False, include_context=False, include_input=False),
            ) from exc
    _check_fits_table(event)
    return event


def split_valid(
    values: Iterable[Any], positions: Iterable[Any] | None = None
) -> tuple[list[UsageEvent], list[PoisonRow]]:
    """Events that can be inserted, and the poison rows to dead-letter, in order."""
    good: list[UsageEvent] = []
    poison: list[PoisonRow] = []
    position_iter = iter(positions) if positions is not None else None
    for value in values:
        position = next(position_iter, None) if position_iter is not None else None
        try:
            good.append(parse_usage_event(value))
        except RequestError as exc:
            poison.append(PoisonRow(value, exc, position))
    return good, poison


def unique_by_event_id(events: Iterable[UsageEvent]) -> list[UsageEvent]:
    """First occurrence of each event_id, in order (a redelivered copy is identical)."""
    seen: set[str] = set()
    unique: list[UsageEvent] = []
    for event in events:
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    return unique


def to_columns(events: Sequence[UsageEvent]) -> dict[str, list[Any]]:
    """The column-oriented insert block for ``events`` (ts as raw DateTime64(3) ticks)."""
    return {
        "ts": [e.ts_ms for e in events],
        "event_id": [e.event_id for e in events],
        "kind": [e.kind for e in events],
        "request_id": [e.request_id for e in events],
        "attempt": [e.attempt for e in events],
        "tenant": [e.tenant for e in events],
        "route": [e.route for e in events],
        "provider": [e.provider for e in events],
        "model": [e.model for e in events],
        "status": [e.status for e in events],
        "error_code": [e.error_code for e in events],
        "input_tokens": [e.input_tokens for e in events],
        "output_tokens": [e.output_tokens for e in events],
        "cached_input_tokens": [e.cached_input_tokens for e in events],
        "reasoning_tokens": [e.reasoning_tokens for e in events],
        "cost": [e.cost_usd for e in events],
        "cost_unknown": [e.cost_unknown for e in events],
        "cost_saved": [e.cost_saved_usd for e in events],
        "cached": [e.cached for e in events],
        "similarity": [e.similarity for e in events],
        "latency_ms": [e.latency_ms for e in events],
        "ttft_ms": [e.ttft_ms for e in events],
        "fallback_depth": [e.fallback_depth for e in events],
        "priority": [e.priority for e in events],
        "tags": [e.tags for e in events],
    }


def to_arrow(events: Sequence[UsageEvent]) -> pa.Table:
    """The same insert block as an Arrow table: built in C from the column lists.

    clickhouse-connect serialises a column-oriented insert to Native in Python
    (~4 us a row); Arrow goes to ClickHouse as one buffer it parses itself.
    """
    columns = to_columns(events)
    arrays = [_arrow_array(name, columns[name]) for name in COLUMNS]
    return pa.Table.from_arrays(arrays, names=list(COLUMNS))


def _arrow_array(name: str, values: list[Any]) -> pa.Array:
    arrow_type = _ARROW_TYPES[name]
    if not pa.types.is_decimal(arrow_type):
        return pa.array(values, type=arrow_type)
    try:
        return pa.array(values, type=arrow_type)
    except pa.ArrowInvalid:
        # More than 9 decimals: cut the rest, as a Decimal(18, 9) insert always did.
        return pa.array([v.quantize(_NANO, rounding=ROUND_DOWN) for v in values], type=arrow_type)


def _check_fits_table(event: UsageEvent) -> None:
    problems: list[str] = []
    for name in ("event_id", "request_id", "tenant", "route"):
        text = getattr(event, name)
        if not text or len(text) > _MAX_ID_CHARS:
            problems.append(f"{name} must be 1..{_MAX_ID_CHARS} characters")
    if event.ts_ms > _MAX_TS_MS:
        problems.append("ts_ms is past 2299-12-31")
    if event.attempt > 65_535:
        problems.append("attempt is over 65535")
    if event.fallback_depth > 255:
        problems.append("fallback_depth is over 255")
    for name in ("input_tokens", "output_tokens", "cached_input_tokens", "reasoning_tokens"):
        if getattr(event, name) > _MAX_TOKENS:
            problems.append(f"{name} is over 2**63-1")
    for name in ("cost_usd", "cost_saved_usd"):
        amount: Decimal = getattr(event, name)
        if not amount.is_finite() or abs(amount) > _MAX_COST:
            problems.append(f"{name} must be finite and within +-{_MAX_COST}")
    for name in ("latency_ms", "ttft_ms", "similarity"):
        number = getattr(event, name)
        if number is not None and not math.isfinite(number):
            problems.append(f"{name} must be finite")
    if event.ttft_ms is not None and event.ttft_ms < 0:
        problems.append("ttft_ms must be >= 0")
    if problems:
        raise InvalidRequest(
            f"usage event {event.event_id!r} cannot be stored: {'; '.join(problems)}",
            event_id=event.event_id,
        )


def _first_error(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "event"
    return f"{where}: {first['msg']}"
