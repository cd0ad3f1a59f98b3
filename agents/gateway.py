"""The request agent: one Faust agent runs every stage of a request.

Stages (intake, lookup, admission, invoke, publish) are plain objects called in
sequence inside one agent, so a request costs one broker hop in and one out:
on tansu each extra hop adds ~10 ms at best (ENVIRONMENT.md). Requests are keyed
by tenant, so the worker that owns a partition owns all of its tenants' state.

:class:`Gateway` is the whole per-event logic and needs no Faust: stage tests
drive it with an in-memory sender; :func:`register` attaches it to an app.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid

import orjson
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tokenyard.admission.decide import Defer, Reject
from tokenyard.agents.admission import AdmissionStage, Ticket
from tokenyard.agents.completed import SETTLED, CompletedRequests, intent_record, worth_remembering
from tokenyard.agents.intake import IntakeRules, accept, expired
from tokenyard.agents.lookup import CacheStage
from tokenyard.agents.outcome import (
    attempt_events,
    cache_tags,
    cached_reply,
    error_reply,
    lost_attempt_events,
    request_event,
    success_reply,
)
from tokenyard.cache import Hit
from tokenyard.agents.publish import Publisher
from tokenyard.errors import RequestError, TokenyardError
from tokenyard.schemas.codec import dumps, salvage
from tokenyard.security.authenticator import Authenticator
from tokenyard.streams.gateway_metrics import GatewayMetrics
from tokenyard.streams.tracing import Tracing
from tokenyard.schemas.records import Chunk, Reply, Request
from tokenyard.streams.partition_state import PartitionState

log = logging.getLogger(__name__)


class Router(Protocol):
    def has_route(self, name: str) -> bool: ...

    async def invoke(self, request: Request, *, deadline_s: float, on_chunk: Any = None) -> Any: ...


class Gateway:
    def __init__(
        self,
        *,
        rules: IntakeRules,
        router: Router,
        publisher: Publisher,
        default_deadline_s: float,
        completed: PartitionState[CompletedRequests] | None = None,
        cache: CacheStage | None = None,
        admission: AdmissionStage | None = None,
        authenticator: Authenticator | None = None,
        metrics: GatewayMetrics | None = None,
        tracing: Tracing | None = None,
        defer: Callable[[Request, int, float], Awaitable[None]] | None = None,
        inline_defer_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = rules
        self.router = router
        self.publisher = publisher
        self.default_deadline_s = default_deadline_s
        self.completed = completed
        self.cache = cache
        self.admission = admission
        self.authenticator = authenticator
        self.metrics = metrics
        self.tracing = tracing or Tracing()
        self.defer = defer
        self.inline_defer_s = inline_defer_s
        self.clock = clock
        # request_id -> completion of the copy being served now, so a duplicate
        # read while the first copy is still at the provider waits for it.
        self._in_flight: dict[str, asyncio.Future[None]] = {}

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def handle(
        self,
        raw: bytes | None,
        key: bytes | None,
        *,
        partition: int | None = None,
        offset: int | None = None,
        headers: Any = None,
    ) -> None:
        """Process one request event; never raises, so the partition keeps moving."""
        with self.tracing.span("tokenyard.gateway", parent=self.tracing.context_from(headers),
                               **{"messaging.kafka.partition": partition, "messaging.kafka.offset": offset}):
            await self._handle(raw, key, partition=partition, offset=offset)

    async def _handle(
        self, raw: bytes | None, key: bytes | None, *, partition: int | None, offset: int | None
    ) -> None:
        raw = raw or b""
        started = self.clock()
        try:
            request = accept(raw, self.rules)
            if self.authenticator is not None:
                # before any lookup or cost; the tenant is the one the signature proved
                self.authenticator.check(
                    request, orjson.loads(raw), self._now_ms(), message_key=key, partition=partition, offset=offset
                )
        except RequestError as err:
            await self._reject(raw, key, err, partition, offset)
            self._count("intake", None, err.code, started)
            return
        except Exception as exc:  # a decoder bug on hostile input must not stall the partition
            log.exception("decoding an event failed unexpectedly")
            await self._reject(raw, key, TokenyardError(f"event could not be decoded: {type(exc).__name__}"),
                               partition, offset)
            return
        late = expired(request, self._now_ms())
        if late is not None:
            # read after its deadline: answered, never sent anywhere
            await self._refuse(request, late, started)
            return
        try:
            if await self._answered_before(request, partition):
                return
            await self._serve_once(request, started, partition)
        except Exception as exc:  # last line of defence: a bug must not stall the partition
            log.exception("serving request %s failed", request.request_id)
            internal = TokenyardError(f"internal error while serving the request: {type(exc).__name__}")
            await self._reject(raw, key, internal, partition, offset)

    async def _answered_before(self, request: Request, partition: int | None) -> bool:
        """Republish the stored reply of a request this partition already served."""
        if self.completed is None or partition is None:
            return False
        running = self._in_flight.get(request.request_id)
        if running is not None:
            await asyncio.shield(running)
        stored = (await self.completed.view(partition)).reply_for(request.request_id)
        if stored is None:
            return False
        log.info("request %s was answered before; republishing its reply", request.request_id)
        await self.publisher.send(request.reply_to, request.request_id.encode(), stored)
        return True

    async def _serve_once(self, request: Request, started: float, partition: int | None) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[request.request_id] = done
        try:
            reply = await self._serve(request, started, partition)
            if reply is None:
                log.debug("request %s deferred", request.request_id)
                return  # deferred: it comes back through the deferred topic
            log.debug("request %s answered: %s", request.request_id,
                      reply.status if reply.error is None else reply.error.code)
            stage = "lookup" if reply.cached else "admission" if reply.attempts == 0 and reply.error else "invoke"
            self._count(stage, request.model, reply.error.code if reply.error else "ok", started)
        finally:
            del self._in_flight[request.request_id]
            done.set_result(None)

    async def _serve(self, request: Request, started: float, partition: int | None) -> Reply | None:
        found = None
        if self.cache is not None and partition is not None:
            with self.tracing.span("tokenyard.lookup"):
                found = await self.cache.lookup(request, partition)
            if self.metrics is not None:
                route = self.metrics.route(request.model)
                self.metrics.cache.inc(route=route, result=cache_tags(found.result).get("cache", "miss"))
                for reason in getattr(found.result, "rejections", ()):
                    self.metrics.cache_rejections.inc(route=route, reason=reason)
                if getattr(found.result, "judged", False):
                    self.metrics.cache_judged.inc(route=route)
            if isinstance(found.result, Hit):
                if self.metrics is not None:
                    self.metrics.cache_saved.inc(float(found.result.cost_saved),
                                                 route=self.metrics.route(request.model))
                return await self._serve_from_cache(request, found.result, started)
        ticket = None
        if self.admission is not None and partition is not None:
            with self.tracing.span("tokenyard.admission"):
                decision = await self._admit(request, partition)
            if decision is None:
                return None
            if isinstance(decision, Reject):
                return await self._refuse(request, decision.error, started, partition)
            ticket = decision
        deadline_s = (
            request.deadline_ms / 1000.0
            if request.deadline_ms is not None
            else started + self.default_deadline_s
        )
        on_chunk = self._chunk_sender(request) if request.stream else None
        lost, intent = await self._note_intent(request, partition)
        with self.tracing.span("tokenyard.invoke", route=request.model) as span:
            outcome = await self.router.invoke(request, deadline_s=deadline_s, on_chunk=on_chunk)
            if span is not None:
                span.set_attribute("tokenyard.attempts", len(outcome.attempts))
                span.set_attribute("tokenyard.outcome", "ok" if outcome.completion else outcome.error.code)
        if intent is not None:
            await intent
        self._count_attempts(request, outcome.attempts)
        now_ms = self._now_ms()
        latency_ms = (self.clock() - started) * 1000.0
        attempts = list(outcome.attempts)
        if outcome.completion is not None:
            last_cost = attempts[-1].cost_usd if attempts else None
            reply = success_reply(request, outcome.completion, last_cost, len(attempts), latency_ms, now_ms)
            if ticket is not None and ticket.admit.warnings:
                reply = reply.model_copy(update={"warnings": list(ticket.admit.warnings)})
        else:
            reply = error_reply(
                request.request_id, request.tenant, outcome.error, now_ms,
                model=request.model, attempts=len(attempts), latency_ms=latency_ms,
            )
        # The reply and its bookkeeping leave together: they share one produce request,
        # so the reply is no later, and the request holds its slot one round trip, not three.
        follow_ups = [
            self.publisher.reply(request.reply_to, reply),
            self._remember(request, partition, reply),
            self.publisher.usage([
                *lost_attempt_events(request, lost, now_ms),
                *attempt_events(request, attempts, now_ms),
                request_event(request, reply, attempts, now_ms, cache_tags=cache_tags(found.result if found else None),
                              crash_retries=lost),
            ])
        ]
        if ticket is not None:
            assert partition is not None and self.admission is not None
            follow_ups.append(self.admission.settle(
                ticket, partition, request_id=request.request_id, attempts=len(attempts),
                tokens=sum(a.usage.input_tokens + a.usage.output_tokens for a in attempts),
                cost=outcome.cost_usd,
            ))
            follow_ups.append(self.admission.observe(ticket, attempts))  # provider 429s -> account AIMD
        if found is not None and outcome.completion is not None and self.cache is not None:
            assert partition is not None
            follow_ups.append(self.cache.store(request, partition, outcome.completion, reply.cost_usd, found))
        await asyncio.gather(*follow_ups)
        return reply

    async def _note_intent(self, request: Request, partition: int | None) -> tuple[int, asyncio.Future[None] | None]:
        """Count calls a crashed worker left unreported, and record this one's intent.

        The intent is written while the provider call runs (awaited after it), so
        it costs no latency; a worker dying mid-call leaves it behind for the next.
        """
        if self.completed is None or partition is None:
            return 0, None
        lost = (await self.completed.view(partition)).unfinished_calls(request.request_id)
        record = intent_record(uuid.uuid4().hex)
        return lost, asyncio.ensure_future(self.completed.append(partition, request.request_id.encode(), record))

    def _count(self, stage: str, route: str | None, code: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.finished(stage, route, code, self.clock() - started)

    def _count_attempts(self, request: Request, attempts: Any) -> None:
        if self.metrics is None:
            return
        for a in attempts:
            target = f"{a.provider}:{a.model}"
            self.metrics.provider_call(target, a.status, a.latency_ms / 1000.0)
            self.metrics.billed(request.model, target, a.usage.input_tokens, a.usage.output_tokens,
                                float(a.cost_usd or 0))

    async def _admit(self, request: Request, partition: int) -> Ticket | Reject | None:
        """Admit now, wait briefly, or hand the request to the deferred topic (None)."""
        assert self.admission is not None
        # Waiting here holds a slot other tenants' requests need: at most inline_defer_s
        # in all (in the provider account's fair queue, or asleep), then the deferred topic.
        inline_until = self.clock() + self.inline_defer_s if self.defer is not None else math.inf
        while True:
            decision = await self.admission.decide(request, partition, wait_until=inline_until)
            if self.metrics is not None:
                name = type(decision).__name__.lower().replace("ticket", "admit")
                self.metrics.admission.inc(route=self.metrics.route(request.model), decision=name)
            if not isinstance(decision, Defer):
                return decision
            if decision.not_before > inline_until and self.defer is not None:
                await self.defer(request, partition, decision.not_before)
                return None
            await asyncio.sleep(max(decision.not_before - self.clock(), 0.0))

    async def _remember(self, request: Request, partition: int | None, reply: Reply) -> None:
        """Record a paid (or refused) request's outcome, so a redelivered copy is not paid again."""
        # Cache hits are free to serve again, so only paid answers are remembered.
        if self.completed is None or partition is None or reply.cached:
            return
        retriable = reply.error.retriable if reply.error else False
        remembered = worth_remembering(reply.status, reply.error and reply.error.code, retriable)
        await self.completed.append(partition, request.request_id.encode(), dumps(reply) if remembered else SETTLED)

    async def _refuse(
        self, request: Request, error: TokenyardError, started: float, partition: int | None = None
    ) -> Reply:
        now_ms = self._now_ms()
        reply = error_reply(request.request_id, request.tenant, error, now_ms, model=request.model,
                            latency_ms=(self.clock() - started) * 1000.0)
        await asyncio.gather(
            self.publisher.reply(request.reply_to, reply),
            self.publisher.usage([request_event(request, reply, [], now_ms)]),
            self._remember(request, partition, reply),
        )
        return reply

    async def _serve_from_cache(self, request: Request, hit: Hit, started: float) -> Reply:
        now_ms = self._now_ms()
        reply = cached_reply(request, hit, (self.clock() - started) * 1000.0, now_ms)
        await asyncio.gather(
            self.publisher.reply(request.reply_to, reply),
            self.publisher.usage(
                [request_event(request, reply, [], now_ms, cost_saved=hit.cost_saved, cache_tags=cache_tags(hit))]
            ),
        )
        return reply

    def _chunk_sender(self, request: Request) -> Callable[[int, str, bool], Any]:
        async def send_chunk(seq: int, delta: str, restart: bool = False) -> None:
            chunk = Chunk(request_id=request.request_id, seq=seq, delta=delta, restart=restart)
            await self.publisher.chunk(request.reply_to, chunk)

        return send_chunk

    async def _reject(
        self, raw: bytes, key: bytes | None, err: TokenyardError, partition: int | None, offset: int | None
    ) -> None:
        """Bad input: an error reply where the reply topic is known, and a dead letter."""
        found = salvage(raw)
        now_ms = self._now_ms()
        log.info("rejecting request %s: %s %s", found.request_id, err.code, err.message)
        sends = [
            self.publisher.dead_letter(
                source_topic=self.publisher.topics.requests,
                raw=raw,
                key=key,
                error=err,
                salvage=found,
                now_ms=now_ms,
                partition=partition,
                offset=offset,
            )
        ]
        if found.request_id and found.reply_to and self.rules.reply_topic_allowed(found.reply_to):
            sends.append(self.publisher.reply(found.reply_to, error_reply(found.request_id, found.tenant, err, now_ms)))
        # one round trip for both: a flood of bad events costs the partition half the time
        await asyncio.gather(*sends)


def register(app: Any, gateway: Gateway, requests_topic: Any, *, concurrency: int) -> Any:
    """Attach the gateway to ``app`` as the agent consuming ``requests_topic``.

    With ``concurrency`` > 1 several events of one partition are in flight at
    once; Faust commits only offsets below the oldest unfinished event, so a
    crash redelivers everything not yet answered (at-least-once).
    """

    async def gateway_agent(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            await gateway.handle(
                message.value, message.key, partition=message.partition, offset=message.offset,
                headers=message.headers,
            )

    return app.agent(requests_topic, name="tokenyard.gateway", concurrency=concurrency)(gateway_agent)
