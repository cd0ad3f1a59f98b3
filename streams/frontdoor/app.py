"""The front door's aiohttp application: OpenAI's chat-completions API over tokenyard.

Routes: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /v1/models/{model}``
(authenticated), ``GET /metrics`` and ``GET /healthz`` (not: bind them to a private
address). The app holds no Kafka code: it calls a :class:`ChatBackend` (in production
one shared :class:`~tokenyard.streams.client.TokenyardClient`; in tests any object
with ``complete`` and ``stream``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import Any, Protocol

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError

from tokenyard.errors import InvalidRequest, TokenyardError, Unauthenticated
from tokenyard.schemas.records import Chunk, Reply
from tokenyard.streams.frontdoor.chat_request import ChatCall, parse_chat_call
from tokenyard.streams.frontdoor.http_errors import HttpError, from_error_info, from_exception, http_error
from tokenyard.streams.frontdoor.keys import KeyRing
from tokenyard.streams.frontdoor.openai_format import ChunkWriter, completion_body, reply_headers, sse
from tokenyard.streams.frontdoor.request_metrics import FrontDoorMetrics
from tokenyard.streams.frontdoor.settings import FrontDoorSettings
from tokenyard.streams.frontdoor.stream_relay import StreamRelay
from tokenyard.streams.metrics import CONTENT_TYPE, Metrics

log = logging.getLogger(__name__)

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:@/-]{1,80}$")


class ChatBackend(Protocol):
    """What the front door needs from a tokenyard client."""

    async def complete(self, messages: Any, *, timeout: float, raise_on_error: bool = True, **kwargs: Any) -> Reply: ...

    def stream(self, messages: Any, *, timeout: float, **kwargs: Any) -> AsyncIterator[Chunk | Reply]: ...


class _Failed(Exception):
    """Carries an HttpError out of the request path to the one place that answers it."""

    def __init__(self, error: HttpError) -> None:
        super().__init__(error.tokenyard_code)
        self.error = error


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers, content_type="application/json")


def error_response(error: HttpError) -> web.Response:
    return _json(error.body, error.status, error.headers)


class FrontDoor:
    def __init__(
        self,
        backend: ChatBackend,
        keyring: KeyRing,
        routes: Collection[str],
        *,
        settings: FrontDoorSettings = FrontDoorSettings(),
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.keyring = keyring
        self.routes = tuple(routes)
        self.settings = settings
        self.metrics = metrics if metrics is not None else Metrics()
        self.observed = FrontDoorMetrics(self.metrics, self.routes)
        self.clock = clock
        self._active: set[str] = set()  # request ids being served, to refuse a concurrent duplicate

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.settings.max_body_bytes, middlewares=[_openai_errors])
        app.router.add_post("/v1/chat/completions", self.chat_completions)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/v1/models/{model}", self.get_model)
        app.router.add_get("/metrics", self.render_metrics)
        app.router.add_get("/healthz", self.health)
        return app

    # -- small endpoints -----------------------------------------------------------

    def _model(self, route: str) -> dict[str, Any]:
        return {"id": route, "object": "model", "created": 0, "owned_by": "tokenyard"}

    async def list_models(self, request: web.Request) -> web.Response:
        try:
            self.keyring.tenant_for(request.headers.get("Authorization"))
        except Unauthenticated as err:
            return error_response(from_exception(err))
        return _json({"object": "list", "data": [self._model(r) for r in self.routes]})

    async def get_model(self, request: web.Request) -> web.Response:
        try:
            self.keyring.tenant_for(request.headers.get("Authorization"))
        except Unauthenticated as err:
            return error_response(from_exception(err))
        route = request.match_info["model"]
        if route not in self.routes:
            message = f"The model '{route}' does not exist"
            return error_response(http_error("unknown_model", message, param="model"))
        return _json(self._model(route))

    async def render_metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE})

    async def health(self, request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    # -- chat completions ----------------------------------------------------------

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        started = self.clock()
        route: str | None = None
        stream = False
        outcome = "internal_error"
        with self.observed.in_flight.track():
            try:
                call, request_id, tenant = await self._accept(request)
                route, stream = call.route, call.stream
                self._active.add(request_id)
                try:
                    if call.stream:
                        response, outcome = await self._stream(request, call, request_id, tenant, started)
                    else:
                        response = await self._complete(call, request_id, tenant)
                        outcome = "ok"
                finally:
                    self._active.discard(request_id)
            except _Failed as failed:
                outcome = failed.error.tokenyard_code
                if failed.error.status >= 500:
                    log.info("chat completion failed: %s", failed.error.body["error"]["message"])
                response = error_response(failed.error)
            finally:
                self.observed.record(route, stream, outcome, self.clock() - started)
        return response

    async def _accept(self, request: web.Request) -> tuple[ChatCall, str, str]:
        """Authenticate, decode, validate; (call, request_id, tenant) or _Failed."""
        try:
            tenant = self.keyring.tenant_for(request.headers.get("Authorization"))
            try:
                raw = await request.read()
            except web.HTTPRequestEntityTooLarge as exc:
                raise _Failed(http_error(
                    "request_too_large", f"The request body is over {self.settings.max_body_bytes} bytes."
                )) from exc
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InvalidRequest(
                    "We could not parse the JSON body of your request. The body must be valid JSON."
                ) from exc
            call = parse_chat_call(body, self.routes)
            request_id = self._request_id(request.headers.get("Idempotency-Key"), tenant)
        except TokenyardError as err:
            raise _Failed(from_exception(err)) from err
        if request_id in self._active:
            raise _Failed(http_error(
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is already being served; retry after it finishes.",
                retriable=True,
            ))
        return call, request_id, tenant

    @staticmethod
    def _request_id(idempotency_key: str | None, tenant: str) -> str:
        """The Idempotency-Key, scoped by tenant so two tenants' keys never meet."""
        if idempotency_key is None:
            return uuid.uuid4().hex
        if not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise InvalidRequest(
                "Idempotency-Key must be 1-80 characters of A-Z a-z 0-9 . _ : @ / -",
                param="Idempotency-Key",
            )
        return f"idem:{tenant}:{idempotency_key}"

    def _call_kwargs(self, call: ChatCall, request_id: str, tenant: str) -> dict[str, Any]:
        return {
            "model": call.route,
            "tenant": tenant,
            "params": call.params,
            "request_id": request_id,
            "metadata": call.metadata,
            "timeout": self.settings.request_timeout_s,
        }

    async def _complete(self, call: ChatCall, request_id: str, tenant: str) -> web.Response:
        try:
            reply = await self.backend.complete(
                call.messages, raise_on_error=False, **self._call_kwargs(call, request_id, tenant)
            )
        except TokenyardError as err:
            raise _Failed(from_exception(err)) from err
        except KafkaError as exc:
            raise _Failed(_broker_unavailable(exc)) from exc
        if reply.status != "ok":
            raise _Failed(_reply_error(reply))
        return _json(completion_body(reply, call.route), headers=reply_headers(reply))

    async def _stream(
        self, request: web.Request, call: ChatCall, request_id: str, tenant: str, started: float
    ) -> tuple[web.StreamResponse, str]:
        """Relay chunks as SSE. Errors before the first byte get a real HTTP status;
        after it, an OpenAI-style error event ends the stream without ``[DONE]``."""
        items = self.backend.stream(call.messages, **self._call_kwargs(call, request_id, tenant))
        relay = StreamRelay(request_id)
        writer = ChunkWriter(request_id, call.route, int(self.clock()), include_usage=call.include_usage)
        response: web.StreamResponse | None = None
        try:
            async for item in items:
                if response is None:
                    if isinstance(item, Reply) and item.status != "ok":
                        raise _Failed(_reply_error(item))
                    response = await self._open_stream(request, request_id)
                    await response.write(writer.role())
                if isinstance(item, Chunk):
                    text = relay.on_chunk(item)
                else:
                    if item.status != "ok":
                        return response, await self._end_with_error(response, _reply_error(item))
                    text = relay.on_reply(item.content or "")
                if text:
                    if relay.written == text:
                        self.observed.first_token.observe(
                            self.clock() - started, route=self.observed.route_label(call.route)
                        )
                    await response.write(writer.content(text))
                if isinstance(item, Reply):
                    await response.write(writer.finish(item))
                    await response.write_eof()
                    return response, "ok"
            raise _Failed(http_error("internal_error", "the reply stream ended without a reply"))
        except TokenyardError as err:
            failed = from_exception(err)
        except KafkaError as exc:
            failed = _broker_unavailable(exc)
        except _Failed as failed_:
            failed = failed_.error
        except ConnectionResetError:
            # The HTTP client went away; the gateway still finishes (and bills) the request.
            return response or web.StreamResponse(), "client_closed"
        finally:
            await items.aclose()  # type: ignore[attr-defined]
        if response is None:
            raise _Failed(failed)
        return response, await self._end_with_error(response, failed)

    async def _open_stream(self, request: web.Request, request_id: str) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "x-request-id": request_id,
            }
        )
        await response.prepare(request)
        return response

    async def _end_with_error(self, response: web.StreamResponse, error: HttpError) -> str:
        # The OpenAI SDKs raise APIError on a data event carrying "error".
        try:
            await response.write(sse(error.body))
            await response.write_eof()
        except ConnectionResetError:
            return "client_closed"
        return error.tokenyard_code


def _reply_error(reply: Reply) -> HttpError:
    if reply.error is None:
        return http_error("internal_error", f"error reply {reply.request_id} carries no error")
    return from_error_info(reply.error)


def _broker_unavailable(exc: KafkaError) -> HttpError:
    return http_error(
        "broker_unavailable", f"the Kafka broker is unavailable ({type(exc).__name__})", retriable=True
    )


@web.middleware
async def _openai_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp's own errors (404, 405, 413) in OpenAI's error format."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 413: "request_too_large"}.get(exc.status, "invalid_request")
        mapped = http_error(code, f"{exc.reason}: {request.method} {request.path}")
        return _json(mapped.body, exc.status)
