"""Bytes to records and back, with errors that say exactly what is wrong.

Decoding never raises anything but :class:`~tokenyard.errors.RequestError`
subclasses. When an event is broken, :func:`salvage` recovers whatever is still
readable (request id, tenant, reply topic) so the caller can still send an error
reply to the right place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from tokenyard.errors import InvalidRequest, MalformedEvent
from tokenyard.schemas.records import Request, TopicName

R = TypeVar("R", bound=BaseModel)

_MAX_ERRORS_REPORTED = 5
# Error text quotes field names from the event; an attacker's 100 kB key must not
# become a 100 kB reply and dead letter.
_MAX_LOC_PART = 64
_MAX_PROBLEM = 240


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dumps(record: BaseModel) -> bytes:
    """Compact JSON; ``None`` fields are dropped so events stay small."""
    return orjson.dumps(record.model_dump(mode="json", exclude_none=True))


def loads_object(raw: bytes) -> dict[str, Any]:
    """Parse bytes as a JSON object or raise :class:`MalformedEvent`."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedEvent(f"event is not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedEvent(f"event must be a JSON object, got {type(value).__name__}")
    return value


def validate(model: type[R], value: dict[str, Any], raw: bytes | None = None) -> R:
    """Build ``model`` from a parsed object (or, strictly typed, its JSON ``raw``)
    or raise :class:`InvalidRequest`."""
    try:
        if raw is not None:
            return model.model_validate_json(raw, strict=True)
        return model.model_validate(value)
    except ValidationError as exc:
        raise _schema_error(exc) from exc
    except (TypeError, ValueError, RecursionError) as exc:
        # pydantic's JSON parser stops at a nesting depth orjson still accepts
        raise InvalidRequest(f"request cannot be validated: {_short(str(exc), _MAX_PROBLEM)}") from exc


def _schema_error(exc: ValidationError) -> InvalidRequest:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    problems = [_short(f"{_location(e['loc'])}: {e['msg']}", _MAX_PROBLEM) for e in errors[:_MAX_ERRORS_REPORTED]]
    more = exc.error_count() - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    return InvalidRequest(
        "request does not match the schema: " + "; ".join(problems) + suffix,
        fields=sorted({_short(str(e["loc"][0]), _MAX_LOC_PART) for e in errors if e["loc"]})[:_MAX_ERRORS_REPORTED],
    )


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(_short(str(p), _MAX_LOC_PART) for p in loc) or "(event)"


def decode(model: type[R], raw: bytes) -> R:
    """Decode an event: malformed bytes, then the schema, each with its own error.

    Models declared strict (the request: untrusted input) are validated from the
    JSON itself, so ``true`` is not an integer and ``"yes"`` is not a boolean.
    """
    value = loads_object(raw)
    strict = bool(getattr(model, "wire_strict", False))
    return validate(model, value, raw if strict else None)


def decode_request(raw: bytes) -> Request:
    return decode(Request, raw)


@dataclass(frozen=True)
class Salvage:
    """What could still be read from an event that failed to decode."""

    request_id: str | None = None
    tenant: str | None = None
    reply_to: str | None = None


_TOPIC_RE = re.compile(TopicName.__metadata__[0].pattern)


def salvage(raw: bytes) -> Salvage:
    """Best effort: the routing fields of a broken event, each only if well-formed."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return Salvage()
    if not isinstance(value, dict):
        return Salvage()

    def short_str(key: str) -> str | None:
        v = value.get(key)
        return v if isinstance(v, str) and 0 < len(v) <= 128 else None

    reply_to = value.get("reply_to")
    if not (isinstance(reply_to, str) and len(reply_to) <= 249 and _TOPIC_RE.match(reply_to)):
        reply_to = None
    return Salvage(short_str("request_id"), short_str("tenant"), reply_to)
