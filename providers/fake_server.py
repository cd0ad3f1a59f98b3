"""A real HTTP fake of OpenAI and Anthropic, for tests, the e2e suite and ``tokenyard bench``.

Serves ``POST /v1/chat/completions`` (OpenAI, JSON and SSE) and ``POST /v1/messages``
(Anthropic, JSON and SSE) on loopback with aiohttp. What it does is chosen by the
requested model name (see :mod:`tokenyard.providers.fake_behaviour`), or scripted per
model; it counts the calls each model received so tests can assert on them.

    async with FakeProviderServer() as fake:
        fake.script("gpt@a", ["fail-429", "fail-500"])   # then behaves as its name says
        ... ProviderConfig(kind="openai", base_url=fake.openai_base_url, ...)
        assert fake.calls("gpt@a") == 3

Run it alone for benchmarks: ``python -m tokenyard.providers.fake_server --port 8089``;
or from synchronous code in its own thread with :func:`serve_in_thread`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import signal
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from tokenyard.providers import fake_wire
from tokenyard.providers.fake_behaviour import Answer, Behaviour, echo_answer, parse_behaviour


@dataclass(frozen=True)
class _Dialect:
    """The parts of a vendor's wire the serving logic needs."""

    id_prefix: str
    completion: Callable[..., dict[str, Any]]
    events: Callable[[Answer, str, str, bool], list[bytes]]
    error: Callable[[int, str], dict[str, Any]]
    context_error: Callable[[int, int], dict[str, Any]]
    midstream_error: bytes
    rate_limits: Callable[[int], dict[str, str]]  # headers saying <n> of 100 requests are left


_OPENAI = _Dialect(
    id_prefix="chatcmpl-fake",
    completion=fake_wire.openai_completion,
    events=lambda a, m, i, usage: fake_wire.openai_events(a, m, i, include_usage=usage),
    error=lambda status, message: fake_wire.openai_error(status, message),
    context_error=lambda limit, chars: fake_wire.openai_error(
        400,
        f"This model's maximum context length is {limit} characters. However, your "
        f"messages resulted in {chars} characters. Please reduce the length of the messages.",
        "context_length_exceeded",
    ),
    midstream_error=fake_wire.sse({"error": {"message": "Overloaded", "type": "server_error", "code": None}}),
    rate_limits=lambda left: {
        "x-ratelimit-limit-requests": "100", "x-ratelimit-remaining-requests": str(left),
        "x-ratelimit-reset-requests": "1s",
    },
)
_ANTHROPIC = _Dialect(
    id_prefix="msg_fake",
    completion=fake_wire.anthropic_message,
    events=lambda a, m, i, usage: fake_wire.anthropic_events(a, m, i, usage=usage),
    error=fake_wire.anthropic_error,
    context_error=lambda limit, chars: fake_wire.anthropic_error(
        400, f"prompt is too long: {chars} tokens > {limit} maximum"
    ),
    midstream_error=fake_wire.sse(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, "error"
    ),
    rate_limits=lambda left: {
        "anthropic-ratelimit-requests-limit": "100", "anthropic-ratelimit-requests-remaining": str(left),
        "anthropic-ratelimit-requests-reset": (
            dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)).isoformat(timespec="seconds"),
    },
)


class _Book:
    """Per-server bookkeeping: calls per model, scripted outcomes, last request."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.scripts: dict[str, deque[Behaviour]] = {}
        self.last: dict[str, dict[str, Any]] = {}
        self.serial = 0

    def take(self, model: str, body: dict[str, Any]) -> Behaviour | None:
        self.calls[model] += 1
        self.serial += 1
        self.last[model] = body
        scripted = self.scripts.get(model)
        if scripted:
            return scripted.popleft()
        return parse_behaviour(model)


def _text_of(content: Any) -> str:
    """A message's text, whether a string or a list of content blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)


async def _serve(
    request: web.Request,
    dialect: _Dialect,
    behaviour: Behaviour,
    *,
    model: str,
    call_id: str,
    texts: list[str],
    max_tokens: int | None,
    stream: bool,
    stream_usage: bool,
) -> web.StreamResponse:
    kind, arg = behaviour.kind, behaviour.arg
    if kind == "fail":
        headers = {"retry-after": "1"} if arg == 429 else None
        return _json(arg, dialect.error(arg, f"fake {arg} for {model}"), headers)
    chars = sum(len(t) for t in texts)
    if kind == "context" and chars > arg:
        return _json(400, dialect.context_error(arg, chars))
    if kind == "slow_first_byte":
        await asyncio.sleep(arg / 1000)
    answer = echo_answer(texts, max_tokens, cached=kind == "echo_cached")
    with_usage = kind != "no_usage"
    limits = dialect.rate_limits(arg) if kind == "remaining" else {}
    if not stream:
        return await _serve_json(request, dialect, behaviour, answer, model, call_id, with_usage, limits)
    response = web.StreamResponse(
        headers={"content-type": "text/event-stream", "cache-control": "no-cache", **limits}
    )
    await response.prepare(request)
    if kind == "malformed":
        await response.write(b"data: {not json\n\n")
        await response.write_eof()
        return response
    events = dialect.events(answer, model, call_id, stream_usage and with_usage)
    for index, event in enumerate(events):
        if index == arg and kind in ("cut_after", "drop_after", "error_after"):
            if kind == "drop_after" and request.transport is not None:
                request.transport.abort()  # mid-chunked-body: the client sees a broken stream
                return response
            if kind == "error_after":
                await response.write(dialect.midstream_error)
            break
        await response.write(event)
        if kind == "slow_body" and index == 0:
            await asyncio.sleep(arg / 1000)
    await response.write_eof()
    return response


async def _serve_json(
    request: web.Request, dialect: _Dialect, behaviour: Behaviour, answer: Answer, model: str,
    call_id: str, with_usage: bool, limits: dict[str, str],
) -> web.StreamResponse:
    kind = behaviour.kind
    if kind == "malformed":
        return web.Response(status=200, body=b'{"id": "broken', content_type="application/json")
    if kind == "error_after":
        return _json(529, dialect.error(529, "Overloaded"))
    body = orjson.dumps(dialect.completion(answer, model, call_id, usage=with_usage))
    if kind not in ("slow_body", "cut_after", "drop_after"):
        return web.Response(body=body, content_type="application/json", headers=limits)
    response = web.StreamResponse(headers={"content-type": "application/json"})
    if kind == "slow_body":
        response.content_length = len(body)
    await response.prepare(request)
    if kind == "slow_body":
        await asyncio.sleep(behaviour.arg / 1000)
        await response.write(body)
    else:
        await response.write(body[: len(body) // 2])
        if kind == "drop_after" and request.transport is not None:
            request.transport.abort()
            return response
    await response.write_eof()
    return response


class FakeProviderServer:
    """The fake on ``host:port`` (port 0 picks a free one); an async context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port
        self._book = _Book()
        self._runner: web.AppRunner | None = None

    # -- what tests use --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """What an ``openai``/``openai_compatible`` provider's ``base_url`` should be."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    def calls(self, model: str) -> int:
        return self._book.calls[model]

    def total_calls(self) -> int:
        return sum(self._book.calls.values())

    def last_request(self, model: str) -> dict[str, Any] | None:
        """The decoded body of the last call for ``model``."""
        return self._book.last.get(model)

    def script(self, model: str, outcomes: list[str]) -> None:
        """The next calls for ``model`` behave as ``outcomes`` (behaviour names), in order."""
        parsed = []
        for outcome in outcomes:
            behaviour = parse_behaviour(outcome)
            if behaviour is None:
                raise ValueError(f"unknown fake behaviour {outcome!r}")
            parsed.append(behaviour)
        self._book.scripts[model] = deque(parsed)

    def reset(self) -> None:
        self._book = _Book()

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> FakeProviderServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True)
        await self._runner.setup()
        # A test that gave up on a slow answer must not wait a minute for teardown.
        site = web.TCPSite(self._runner, self.host, self.port, shutdown_timeout=0.5, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeProviderServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- handlers --------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        try:
            body = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return None
        return body if isinstance(body, dict) and isinstance(body.get("model"), str) else None

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if body is None:
            return _json(400, fake_wire.openai_error(400, "body must be a JSON object with a model"))
        model = body["model"]
        behaviour = self._book.take(model, body)
        if behaviour is None:
            return _json(404, fake_wire.openai_error(404, f"The model `{model}` does not exist", "model_not_found"))
        stream = body.get("stream") is True
        return await _serve(
            request, _OPENAI, behaviour, model=model, call_id=f"chatcmpl-fake{self._book.serial}",
            texts=[_text_of(m.get("content")) for m in body.get("messages", []) if isinstance(m, dict)],
            max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
            stream=stream,
            stream_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        )

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if body is None:
            return _json(400, fake_wire.anthropic_error(400, "body must be a JSON object with a model"))
        model = body["model"]
        behaviour = self._book.take(model, body)
        if "anthropic-version" not in request.headers:
            return _json(400, fake_wire.anthropic_error(400, "anthropic-version: header is required"))
        if not isinstance(body.get("max_tokens"), int):
            return _json(400, fake_wire.anthropic_error(400, "max_tokens: Field required"))
        if behaviour is None:
            return _json(404, fake_wire.anthropic_error(404, f"model: {model}"))
        system = _text_of(body.get("system"))
        texts = ([system] if system else []) + [
            _text_of(m.get("content")) for m in body.get("messages", []) if isinstance(m, dict)
        ]
        return await _serve(
            request, _ANTHROPIC, behaviour, model=model, call_id=f"msg_fake{self._book.serial}",
            texts=texts, max_tokens=body["max_tokens"], stream=body.get("stream") is True,
            stream_usage=True,
        )


@contextlib.contextmanager
def serve_in_thread(host: str = "127.0.0.1", port: int = 0) -> Iterator[FakeProviderServer]:
    """Run the fake in a thread with its own event loop, for synchronous callers."""
    server = FakeProviderServer(host, port)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except OSError as exc:  # e.g. the port is taken: report it to the caller
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.stop())
        loop.close()

    thread = threading.Thread(target=run, name="fake-provider", daemon=True)
    thread.start()
    started.wait()
    if failure:
        raise failure[0]
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()


async def _serve_forever(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with FakeProviderServer(host, port) as server:
        print(f"fake provider on {server.base_url} (OpenAI base_url {server.openai_base_url})", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic server for tests and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args(argv)
    asyncio.run(_serve_forever(args.host, args.port))


if __name__ == "__main__":
    main()
