"""Dead letters as an operator sees them: parse, filter, show, choose what to replay.

Pure: records in, values out; the command (``streams/cli/dlq.py``) does the I/O.
A dead letter (:class:`~tokenyard.schemas.records.DeadLetter`) carries the original
event bytes (``value_b64``) and key (``key_b64``) and the topic they came from, so
a replay re-publishes exactly what the producer sent, with the same key and hence
to the same partition.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson
from pydantic import ValidationError

from tokenyard.schemas.records import DeadLetter

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


@dataclass(frozen=True)
class StoredLetter:
    """One dead letter and where it sits in the dead-letter topic."""

    partition: int
    offset: int
    letter: DeadLetter

    @property
    def code(self) -> str:
        return self.letter.error.code

    def original_value(self) -> bytes:
        return base64.b64decode(self.letter.value_b64)

    def original_key(self) -> bytes | None:
        return None if self.letter.key_b64 is None else base64.b64decode(self.letter.key_b64)

    def to_json(self) -> dict[str, Any]:
        return {
            "dlq_partition": self.partition,
            "dlq_offset": self.offset,
            **self.letter.model_dump(mode="json", exclude_none=True),
        }

    def row(self, *, with_partition: bool, message_width: int = 60) -> tuple[str, ...]:
        where = f"{self.partition}/{self.offset}" if with_partition else str(self.offset)
        return (
            where,
            format_ms(self.letter.ts_ms),
            self.letter.source_topic,
            self.code,
            self.letter.request_id or "-",
            self.letter.tenant or "-",
            shorten(self.letter.error.message, message_width),
        )


@dataclass(frozen=True)
class Unreadable:
    """A record on the dead-letter topic that is not a dead letter."""

    partition: int
    offset: int
    reason: str


COLUMNS = ("offset", "time (UTC)", "source topic", "code", "request_id", "tenant", "message")


def parse_record(partition: int, offset: int, value: bytes | None) -> StoredLetter | Unreadable:
    if not value:
        return Unreadable(partition, offset, "empty record")
    try:
        letter = DeadLetter.model_validate(orjson.loads(value))
        base64.b64decode(letter.value_b64, validate=True)
        if letter.key_b64 is not None:
            base64.b64decode(letter.key_b64, validate=True)
    except orjson.JSONDecodeError as exc:
        return Unreadable(partition, offset, f"not JSON: {exc}")
    except ValidationError as exc:
        return Unreadable(partition, offset, f"not a dead letter: {exc.errors(include_url=False)[0]['msg']}")
    except binascii.Error as exc:
        return Unreadable(partition, offset, f"bad base64 in the letter: {exc}")
    return StoredLetter(partition, offset, letter)


def parse_since(text: str, now_ms: int) -> int:
    """``15m``, ``2h``, ``1d``, ``30s`` ago; an ISO 8601 time (UTC if no zone); or epoch ms."""
    text = text.strip()
    duration = _DURATION.match(text)
    if duration:
        return now_ms - int(float(duration.group(1)) * _UNIT_MS[duration.group(2)])
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a duration (30s, 15m, 2h, 1d), an ISO 8601 time or epoch milliseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def select(
    letters: Iterable[StoredLetter],
    *,
    code: str | None = None,
    since_ms: int | None = None,
    limit: int | None = None,
) -> list[StoredLetter]:
    """Letters matching every filter, oldest first; ``limit`` keeps the newest N."""
    chosen = [
        s for s in letters
        if (code is None or s.code == code) and (since_ms is None or s.letter.ts_ms >= since_ms)
    ]
    chosen.sort(key=lambda s: (s.letter.ts_ms, s.partition, s.offset))
    if limit is not None:
        chosen = chosen[-limit:] if limit > 0 else []
    return chosen


def find(letters: Iterable[StoredLetter], partition: int, offset: int) -> StoredLetter | None:
    return next((s for s in letters if (s.partition, s.offset) == (partition, offset)), None)


def choose_for_replay(
    letters: Sequence[StoredLetter],
    *,
    offsets: Sequence[int] = (),
    partition: int = 0,
    code: str | None = None,
    everything: bool = False,
    since_ms: int | None = None,
) -> list[StoredLetter]:
    """Exactly one of ``offsets``, ``code``, ``everything`` must be given."""
    given = sum([bool(offsets), code is not None, everything])
    if given != 1:
        raise ValueError("choose exactly one of --offset, --code or --all")
    if offsets:
        chosen = []
        for offset in offsets:
            found = find(letters, partition, offset)
            if found is None:
                raise LookupError(f"no dead letter at partition {partition}, offset {offset}")
            chosen.append(found)
        return chosen
    return select(letters, code=code, since_ms=since_ms)


def describe_bytes(raw: bytes | None) -> str:
    """Original event bytes for people: pretty JSON, else text, else a hex dump."""
    if raw is None:
        return "(none)"
    if not raw:
        return "(empty)"
    try:
        return orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        pass
    try:
        return raw.decode("utf-8") + "\n(not JSON; shown as UTF-8 text)"
    except UnicodeDecodeError:
        shown = raw[:512]
        lines = [f"{i:08x}  {shown[i:i + 16].hex(' ')}" for i in range(0, len(shown), 16)]
        more = f"\n... {len(raw) - 512} more bytes" if len(raw) > 512 else ""
        return "\n".join(lines) + more + "\n(not UTF-8; shown as hex)"


def format_ms(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def shorten(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
