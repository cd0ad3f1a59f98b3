"""Where stages write: replies, chunks, usage rows and dead letters.

Every send is awaited until the broker acknowledged it, so an event's offset is
only committed (by Faust, after the agent moves on) once its effects are durable.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from tokenyard.errors import TokenyardError
from tokenyard.schemas.codec import Salvage, dumps
from tokenyard.schemas.records import Chunk, DeadLetter, ErrorInfo, Reply, UsageEvent
from tokenyard.streams.topics import TopicNames

# A dead letter carries the event base64-encoded (+33%): past this many bytes only
# the head is kept (with the size and a hash), so the letter stays well under the
# broker's 1 MB record limit and an oversize event can never crash the agent.
MAX_DEAD_LETTER_VALUE = 512 * 1024

# (topic, key, value) -> awaitable that completes when the broker has the record
SendAndWait = Callable[[str, bytes | None, bytes], Awaitable[Any]]


def faust_sender(app: Any) -> SendAndWait:
    async def send(topic: str, key: bytes | None, value: bytes) -> Any:
        return await app.producer.send_and_wait(topic, key, value, None, None, None)

    return send


def faust_partition_sender(app: Any) -> Callable[..., Awaitable[Any]]:
    """Send to one partition through the app's producer (state records and deferred
    requests: they go where their request's partition says, and share produce
    requests with replies)."""

    async def send(topic: str, key: bytes | None, value: bytes, partition: int, headers: Any = None) -> Any:
        return await app.producer.send_and_wait(topic, key, value, partition, None, headers)

    return send


@dataclass(frozen=True)
class Publisher:
    send: SendAndWait
    topics: TopicNames

    async def reply(self, topic: str, reply: Reply) -> None:
        await self.send(topic, reply.request_id.encode(), dumps(reply))

    async def chunk(self, topic: str, chunk: Chunk) -> None:
        await self.send(topic, chunk.request_id.encode(), dumps(chunk))

    async def usage(self, events: Sequence[UsageEvent]) -> None:
        # Sent together: one linger window and one round trip instead of one each.
        await asyncio.gather(
            *(self.send(self.topics.usage, event.request_id.encode(), dumps(event)) for event in events)
        )

    async def dead_letter(
        self,
        *,
        source_topic: str,
        raw: bytes,
        key: bytes | None,
        error: TokenyardError,
        salvage: Salvage,
        now_ms: int,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        truncated = len(raw) > MAX_DEAD_LETTER_VALUE
        kept_key = key if key is None or len(key) <= 1024 else key[:1024]
        letter = DeadLetter(
            ts_ms=now_ms,
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key_b64=None if kept_key is None else base64.b64encode(kept_key).decode(),
            value_b64=base64.b64encode(raw[:MAX_DEAD_LETTER_VALUE]).decode(),
            value_size=len(raw),
            value_sha256=hashlib.sha256(raw).hexdigest(),
            value_truncated=truncated,
            request_id=salvage.request_id,
            tenant=salvage.tenant,
            reply_to=salvage.reply_to,
            error=ErrorInfo.model_validate(error.to_wire()),
        )
        await self.send(self.topics.dead_letters, kept_key, dumps(letter))

    async def record(self, topic: str, key: bytes | None, record: BaseModel) -> None:
        await self.send(topic, key, dumps(record))
