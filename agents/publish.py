"""Where stages write: replies, chunks, usage rows and dead letters.

Every send is awaited until the broker acknowledged it, so an event's offset is
only committed (by Faust, after the agent moves on) once its effects are durable.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from tokenyard.errors import TokenyardError
from tokenyard.schemas.codec import Salvage, dumps
from tokenyard.schemas.records import Chunk, DeadLetter, ErrorInfo, Reply, UsageEvent
from tokenyard.streams.topics import TopicNames

# (topic, key, value) -> awaitable that completes when the broker has the record
SendAndWait = Callable[[str, bytes | None, bytes], Awaitable[Any]]


def faust_sender(app: Any) -> SendAndWait:
    async def send(topic: str, key: bytes | None, value: bytes) -> Any:
        return await app.producer.send_and_wait(topic, key, value, None, None, None)

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
        letter = DeadLetter(
            ts_ms=now_ms,
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key_b64=None if key is None else base64.b64encode(key).decode(),
            value_b64=base64.b64encode(raw).decode(),
            request_id=salvage.request_id,
            tenant=salvage.tenant,
            reply_to=salvage.reply_to,
            error=ErrorInfo.model_validate(error.to_wire()),
        )
        await self.send(self.topics.dead_letters, key, dumps(letter))

    async def record(self, topic: str, key: bytes | None, record: BaseModel) -> None:
        await self.send(topic, key, dumps(record))
