"""What the fault tests share: a fake provider that keeps every call, a pipeline
started with fault-friendly Kafka timings, and a client load that keeps the
client contract (resend the same request_id after a ReplyTimeout)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.e2e.pipeline import Pipeline, answered_once, write_config
from tokenyard.errors import ReplyTimeout
from tokenyard.providers.fake_server import FakeProviderServer
from tokenyard.schemas.records import Reply
from tokenyard.streams.client import TokenyardClient
from tokenyard.streams.settings import load_settings
from tokenyard.streams.stack import LocalStack


@dataclass(frozen=True)
class Call:
    at: float  # time.monotonic() when the fake received it
    model: str
    prompt: str  # the last message's text
    authorization: str


class RecordingFake(FakeProviderServer):
    """The fake provider, also keeping every call it received (the fake itself keeps
    only counts and the last body per model). Run it in the test's event loop."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Call] = []

    async def _body(self, request: web.Request) -> dict[str, Any] | None:
        body = await super()._body(request)
        if body is not None:
            messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
            prompt = messages[-1].get("content") if messages else ""
            self.received.append(Call(time.monotonic(), body["model"], str(prompt),
                                      request.headers.get("authorization", "")))
        return body

    def calls_of(self, model: str) -> list[Call]:
        return [c for c in self.received if c.model == model]

    def calls_per_prompt(self, model: str) -> Counter[str]:
        return Counter(c.prompt for c in self.calls_of(model))


def start_fault_pipeline(
    tmp: Path, bootstrap: str, fake: FakeProviderServer, *, workers: int = 1, extra: str = "",
    session_timeout_s: float = 10.0,
) -> Pipeline:
    """``start_pipeline`` with a chosen Kafka session timeout: tansu moves a dead
    member's partitions only after about two session timeouts."""
    prefix = f"f{uuid.uuid4().hex[:8]}"
    config = write_config(
        tmp / "tokenyard.toml", bootstrap=bootstrap, fake_url=fake.base_url, prefix=prefix,
        data_dir=tmp / "data", extra=extra,
    )
    text = config.read_text().replace("[kafka]\n", f"[kafka]\nsession_timeout_s = {session_timeout_s}\n", 1)
    config.write_text(text)
    settings = load_settings(config)
    stack = LocalStack(settings=settings, config_path=config, log_dir=tmp / "logs",
                       workers=workers, with_model=False, with_broker=False)
    stack.start(progress=lambda msg: None)
    return Pipeline(settings, config, stack, fake)


async def wait_serving(pipeline: Pipeline, client: TokenyardClient, *, timeout: float = 60.0) -> None:
    """Until one request is answered; fails at once if a child process exits."""
    await answered_once(pipeline, client, f"ready? {uuid.uuid4().hex}", tenant="probe", timeout=timeout, cache="skip")


@dataclass
class Outcome:
    request_id: str
    tenant: str
    prompt: str
    published_at: float
    reply: Reply | None = None
    answered_at: float | None = None
    sends: int = 0
    error_replies: list[dict[str, Any]] = field(default_factory=list)  # retriable ones, then resent

    @property
    def latency_s(self) -> float:
        assert self.answered_at is not None
        return self.answered_at - self.published_at


async def call(
    client: TokenyardClient, *, tenant: str, prompt: str, model: str = "default", attempt_timeout: float,
    max_sends: int, retry_on_error_codes: frozenset[str] = frozenset(), **fields: Any,
) -> Outcome:
    """One request under the client contract: after a ReplyTimeout (and, for the
    codes given, after a retriable error reply) send it again with the SAME
    request_id and a fresh deadline."""
    outcome = Outcome(uuid.uuid4().hex, tenant, prompt, time.monotonic())
    while outcome.sends < max_sends:
        outcome.sends += 1
        request = client.build_request([{"role": "user", "content": prompt}], model=model, tenant=tenant,
                                       timeout=attempt_timeout, request_id=outcome.request_id, **fields)
        try:
            reply = await client.send(request, timeout=attempt_timeout)
        except ReplyTimeout:
            continue
        if reply.error is not None and reply.error.code in retry_on_error_codes and reply.error.retriable:
            outcome.error_replies.append(reply.error.model_dump(include={"code", "message", "retry_after_s"}))
            await asyncio.sleep(reply.error.retry_after_s or 0.5)
            continue
        outcome.reply, outcome.answered_at = reply, time.monotonic()
        return outcome
    return outcome


async def steady_load(
    rate_per_s: float, count: int, start_one: Callable[[int], Any]
) -> list[Any]:
    """Start ``count`` calls at ``rate_per_s`` (on a fixed schedule, not after the
    previous one ends) and wait for all of them."""
    started = time.monotonic()
    tasks = []
    for i in range(count):
        delay = started + i / rate_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(start_one(i)))
    return await asyncio.gather(*tasks)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def by_tenant(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    grouped: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        grouped[outcome.tenant].append(outcome)
    return grouped


def window() -> dict[str, str]:
    """since/until parameters of the analytics queries: two hours either side of now."""
    now = datetime.now(UTC)
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"since": (now - timedelta(hours=2)).strftime(fmt), "until": (now + timedelta(hours=2)).strftime(fmt)}
