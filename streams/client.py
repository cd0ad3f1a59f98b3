"""The Python client: request/reply over Kafka.

One producer and one reply consumer serve every concurrent call of a client.
Replies are matched to calls by ``request_id``; duplicates (at-least-once
delivery) are ignored after the first.

    async with TokenyardClient("127.0.0.1:9092") as client:
        reply = await client.complete(
            messages=[{"role": "user", "content": "Hi"}], model="default", tenant="acme"
        )
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError

from tokenyard.errors import ReplyTimeout, RemoteError
from tokenyard.schemas.codec import dumps
from tokenyard.schemas.records import Chunk, Message, Params, Reply, Request
from tokenyard.security.signing import Signer
from tokenyard.streams.broker import ensure_topics
from tokenyard.streams.kafka_security import PLAINTEXT, KafkaSecurity
from tokenyard.streams.offset_holes import GaplessConsumer
from tokenyard.streams.tracing import Tracing

log = logging.getLogger(__name__)

_END = object()


class TokenyardClient:
    def __init__(
        self,
        bootstrap: str,
        *,
        requests_topic: str = "tokenyard.requests",
        reply_topic: str = "tokenyard.replies",
        reply_partitions: int = 4,
        fetch_max_wait_ms: int = 10,
        linger_ms: int = 2,
        signer: Signer | None = None,
        tracing: Tracing | None = None,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self.bootstrap = bootstrap
        self.security = security
        self.requests_topic = requests_topic
        self.reply_topic = reply_topic
        self._reply_partitions = reply_partitions
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._linger_ms = linger_ms
        self._signer = signer
        self._tracing = tracing or Tracing()
        self._producer: AIOKafkaProducer | None = None
        self._consumer: GaplessConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiting: dict[str, asyncio.Future[Reply]] = {}
        self._streams: dict[str, asyncio.Queue[Any]] = {}

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> TokenyardClient:
        from tokenyard.streams.topics import TopicNames

        names = TopicNames.from_settings(settings.kafka)
        kw: dict[str, Any] = dict(
            requests_topic=names.requests,
            reply_topic=names.replies,
            reply_partitions=settings.kafka.reply_partitions,
            fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
            security=settings.kafka.security,
        )
        kw.setdefault("tracing", Tracing.from_settings(settings.tracing, role="client"))
        kw.update(overrides)
        return cls(settings.kafka.bootstrap, **kw)

    async def __aenter__(self) -> TokenyardClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        await ensure_topics(self.bootstrap, {self.reply_topic: self._reply_partitions}, self.security)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, linger_ms=self._linger_ms, acks="all", **self.security.client_kwargs()
        )
        await self._producer.start()
        self._consumer = GaplessConsumer(
            bootstrap_servers=self.bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            auto_offset_reset="latest",
            **self.security.client_kwargs(),
        )
        await self._consumer.start()
        partitions = await self._reply_topic_partitions()
        self._consumer.assign(partitions)
        # Resolve positions now: a reply produced before the first fetch would
        # otherwise be skipped. Brokers that report a low end offset (tansu)
        # only make us read a few old replies, which nobody waits for.
        await self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self._consumer.position(tp)
        self._reader = asyncio.create_task(self._read_replies(), name="tokenyard-replies")

    async def _reply_topic_partitions(self) -> list[TopicPartition]:
        assert self._consumer is not None
        for _ in range(100):
            found = self._consumer.partitions_for_topic(self.reply_topic)
            if found:
                return [TopicPartition(self.reply_topic, p) for p in sorted(found)]
            await self._consumer._client.force_metadata_update()
            await asyncio.sleep(0.05)
        raise ReplyTimeout(f"reply topic {self.reply_topic!r} has no partitions")

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        for fut in self._waiting.values():
            if not fut.done():
                fut.cancel()
        if self._consumer:
            await self._consumer.stop()
        if self._producer:
            await self._producer.stop()

    # -- calls ---------------------------------------------------------------------

    def build_request(
        self,
        messages: Iterable[Mapping[str, Any] | Message],
        *,
        model: str = "default",
        tenant: str = "default",
        timeout: float = 30.0,
        params: Mapping[str, Any] | Params | None = None,
        stream: bool = False,
        request_id: str | None = None,
        **fields: Any,
    ) -> Request:
        now_ms = int(time.time() * 1000)
        return Request(
            request_id=request_id or uuid.uuid4().hex,
            tenant=tenant,
            model=model,
            messages=list(messages),  # type: ignore[arg-type]
            params=params or Params(),  # type: ignore[arg-type]
            stream=stream,
            reply_to=self.reply_topic,
            created_ms=now_ms,
            deadline_ms=fields.pop("deadline_ms", now_ms + int(timeout * 1000)),
            **fields,
        )

    async def complete(
        self,
        messages: Iterable[Mapping[str, Any] | Message],
        *,
        timeout: float = 30.0,
        raise_on_error: bool = True,
        **kwargs: Any,
    ) -> Reply:
        """Publish one request and wait for its final reply.

        Raises :class:`ReplyTimeout` after ``timeout`` seconds, and
        :class:`RemoteError` (with the reply's ``code``) for error replies unless
        ``raise_on_error`` is false.
        """
        request = self.build_request(messages, timeout=timeout, **kwargs)
        reply = await self.send(request, timeout=timeout)
        if raise_on_error and reply.status == "error" and reply.error is not None:
            raise RemoteError(
                reply.error.code,
                reply.error.message,
                retriable=reply.error.retriable,
                retry_after=reply.error.retry_after_s,
                request_id=reply.request_id,
            )
        return reply

    async def send(self, request: Request, *, timeout: float) -> Reply:
        """Publish a ready-made request and wait for its reply."""
        fut: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[request.request_id] = fut
        try:
            with self._tracing.span("tokenyard.request", request_id=request.request_id, tenant=request.tenant,
                                    route=request.model):
                await self.publish(request)
                return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise ReplyTimeout(
                f"no reply to request {request.request_id} within {timeout:g}s",
                request_id=request.request_id,
            ) from None
        finally:
            self._waiting.pop(request.request_id, None)

    async def stream(
        self, messages: Iterable[Mapping[str, Any] | Message], *, timeout: float = 30.0, **kwargs: Any
    ) -> AsyncIterator[Chunk | Reply]:
        """Yield chunks as they arrive, then the final reply.

        A chunk with ``restart=True`` means the gateway switched provider
        mid-stream: discard the text received so far.
        """
        request = self.build_request(messages, timeout=timeout, stream=True, **kwargs)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._streams[request.request_id] = queue
        deadline = time.monotonic() + timeout
        try:
            await self.publish(request)
            while True:
                remaining = deadline - time.monotonic()
                try:
                    item = await asyncio.wait_for(queue.get(), max(remaining, 0.001))
                except asyncio.TimeoutError:
                    raise ReplyTimeout(
                        f"stream {request.request_id} did not finish within {timeout:g}s",
                        request_id=request.request_id,
                    ) from None
                yield item
                if isinstance(item, Reply):
                    return
        finally:
            self._streams.pop(request.request_id, None)

    async def publish(self, request: Request) -> None:
        """Publish one request (signed afresh on every send when the client has a signer)."""
        assert self._producer is not None, "client not started"
        if self._signer is not None:
            request = self._signer.sign(request)
        await self._producer.send_and_wait(
            self.requests_topic, dumps(request), key=request.tenant.encode(), headers=self._tracing.headers() or None
        )

    # -- the reply reader ----------------------------------------------------------

    async def _read_replies(self) -> None:
        assert self._consumer is not None
        try:
            while True:
                try:
                    batches = await self._consumer.getmany(timeout_ms=1000, max_records=1000)
                except KafkaError as exc:
                    if not exc.retriable:
                        raise
                    log.warning("reading replies from %s: %s; retrying", self.reply_topic, exc)
                    await asyncio.sleep(0.2)
                    continue
                for records in batches.values():
                    for record in records:
                        self._dispatch(record.value)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Nobody would ever be answered: fail every waiting call now instead of at its timeout.
            log.exception("the reply reader of %s stopped", self.reply_topic)
            error = ReplyTimeout(f"the reply reader stopped: {type(exc).__name__}: {exc}")
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(error)
            raise

    def _dispatch(self, raw: bytes | None) -> None:
        if not raw:
            return
        try:
            value = orjson.loads(raw)
            kind = value.get("type") if isinstance(value, dict) else None
            if kind == "chunk":
                chunk = Chunk.model_validate(value)
                queue = self._streams.get(chunk.request_id)
                if queue is not None:
                    queue.put_nowait(chunk)
                return
            reply = Reply.model_validate(value)
        except (orjson.JSONDecodeError, ValidationError) as exc:
            log.warning("ignoring unreadable record on %s: %s", self.reply_topic, exc)
            return
        fut = self._waiting.get(reply.request_id)
        if fut is not None and not fut.done():
            fut.set_result(reply)
        queue = self._streams.get(reply.request_id)
        if queue is not None:
            queue.put_nowait(reply)
