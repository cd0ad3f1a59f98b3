"""The fallback loop against scripted fake providers and a fake clock (no sleeps).

The fakes implement the small ``Provider`` protocol; the loop is what is under test.
``test_router.py`` imports them too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from tokenyard.errors import (
    AllTargetsFailed,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    StreamInterrupted,
    TargetSkipped,
)
from tokenyard.pricing import load_shipped_prices
from tokenyard.providers.base import CallTimeouts, Completion, Delta
from tokenyard.providers.breaker import BreakerBoard, BreakerState
from tokenyard.providers.fallback import Runtime, run_fallback
from tokenyard.providers.routing_config import BreakerConfig, FallbackPolicy, RetryConfig
from tokenyard.providers.targets import Target
from tokenyard.schemas.records import Message, Request, Usage

PRICES = load_shipped_prices()


class FakeClock:
    def __init__(self, start: float = 1_000.0):
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class Stream:
    """A scripted stream: these deltas, then the completion or the error."""

    deltas: list[str]
    end: Completion | ProviderError | None  # None: the stream just stops


Outcome = Completion | ProviderError | Stream


@dataclass
class ScriptedProvider:
    """Answers each call to a model with the next scripted outcome; a call takes ``duration``."""

    name: str
    clock: FakeClock
    script: dict[str, list[Outcome]]
    duration: float = 0.1
    calls: list[tuple[str, float, CallTimeouts]] = field(default_factory=list)

    def _next(self, model: str, timeouts: CallTimeouts) -> Outcome:
        self.calls.append((model, self.clock.t, timeouts))
        self.clock.t += self.duration
        return self.script[model].pop(0)

    async def complete(self, request: Request, model: str, timeouts: CallTimeouts) -> Completion:
        outcome = self._next(model, timeouts)
        if isinstance(outcome, Stream):
            outcome = outcome.end
        if isinstance(outcome, ProviderError):
            raise outcome
        return outcome

    async def stream(
        self, request: Request, model: str, timeouts: CallTimeouts
    ) -> AsyncIterator[Delta | Completion]:
        outcome = self._next(model, timeouts)
        if not isinstance(outcome, Stream):
            outcome = Stream(["whole"] if isinstance(outcome, Completion) else [], outcome)
        for text in outcome.deltas:
            yield Delta(text)
        if isinstance(outcome.end, ProviderError):
            raise outcome.end
        if outcome.end is not None:
            yield outcome.end


def ok(provider: str = "p", model: str = "m", text: str = "hi", **usage: int) -> Completion:
    return Completion(
        content=text,
        finish_reason="stop",
        usage=Usage(**(usage or {"input_tokens": 10, "output_tokens": 5})),
        provider=provider,
        model=model,
    )


def request(**overrides) -> Request:
    fields = dict(
        request_id="r-1",
        tenant="t",
        model="chat",
        messages=[Message(role="user", content="hello there")],
        reply_to="replies",
    )
    fields.update(overrides)
    return Request(**fields)


def runtime(clock: FakeClock, breaker: BreakerConfig | None = None, rand: float = 0.5) -> Runtime:
    return Runtime(
        breakers=BreakerBoard(breaker or BreakerConfig()),
        now=clock.now,
        sleep=clock.sleep,
        random=lambda: rand,
    )


RETRY = RetryConfig(max_attempts_per_target=2, base_delay_s=0.2, max_delay_s=2, attempt_budget=6)


async def run(targets, providers, clock, *, req=None, retry=RETRY, policy=None, rt=None,
              deadline=None, on_chunk=None):
    return await run_fallback(
        "chat",
        req or request(),
        targets,
        {p.name: p for p in providers},
        policy=policy or FallbackPolicy(),
        retry=retry,
        runtime=rt or runtime(clock),
        deadline_s=deadline if deadline is not None else clock.t + 60,
        on_chunk=on_chunk,
    )


async def test_first_target_answers():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ok("a")]})
    out = await run([Target("a", "m", price=PRICES.lookup("openai", "gpt-4o"))], [a], clock)
    assert out.ok and out.completion.provider == "a"
    assert out.fallback_depth == 0 and out.failures == ()
    [attempt] = out.attempts
    assert attempt.status == "ok" and attempt.number == 1
    assert attempt.cost_usd == Decimal("0.000075")  # 10 * 2.50 + 5 * 10.00 per 1M


async def test_server_error_retries_in_place_then_falls_through():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ProviderServerError("500"), ProviderServerError("502")]})
    b = ScriptedProvider("b", clock, {"m": [ok("b")]})
    out = await run([Target("a", "m"), Target("b", "m")], [a, b], clock)
    assert out.ok and out.completion.provider == "b"
    assert [x.status for x in out.attempts] == ["provider_server_error"] * 2 + ["ok"]
    assert [x.number for x in out.attempts] == [1, 2, 3]
    assert clock.sleeps == [pytest.approx(0.1)]  # full jitter: 0.5 * 0.2
    assert out.fallback_depth == 1
    assert out.cost_unknown  # no price given for these fake models


async def test_auth_error_stops_without_trying_others():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ProviderAuthError("401", provider="a", model="m")]})
    b = ScriptedProvider("b", clock, {"m": [ok("b")]})
    out = await run([Target("a", "m"), Target("b", "m")], [a, b], clock)
    assert not out.ok and b.calls == []
    assert isinstance(out.error, AllTargetsFailed)
    assert out.stopped_by is out.failures[0]
    assert "a:m: provider_auth_error" in out.error.message


async def test_retry_after_is_honoured_and_holds_the_target_for_others():
    clock = FakeClock()
    rt = runtime(clock)
    limited = ProviderRateLimited("429", retry_after=3.0, provider="a", model="m")
    a = ScriptedProvider("a", clock, {"m": [limited, ok("a"), ok("a")]})
    out = await run([Target("a", "m")], [a], clock, rt=rt)
    assert out.ok and clock.sleeps == [3.0]
    # Another request right after a fresh 429 skips the held target.
    limited_again = ProviderRateLimited("429", retry_after=30.0, provider="a", model="m")
    a.script["m"] = [limited_again]
    b = ScriptedProvider("b", clock, {"m": [ok("b"), ok("b")]})
    first = await run([Target("a", "m"), Target("b", "m")], [a, b], clock, rt=rt)
    assert first.completion.provider == "b"  # 30 s > retry_after_cap: fell through at once
    second = await run([Target("a", "m"), Target("b", "m")], [a, b], clock, rt=rt)
    assert second.completion.provider == "b" and len(second.attempts) == 1
    assert isinstance(second.failures[0], TargetSkipped)
    assert second.failures[0].reason == "breaker_open"


async def test_retry_that_would_end_after_the_deadline_is_not_attempted():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ProviderRateLimited("429", retry_after=5.0)]})
    b = ScriptedProvider("b", clock, {"m": [ok("b")]})
    out = await run([Target("a", "m"), Target("b", "m")], [a, b], clock, deadline=clock.t + 4)
    assert clock.sleeps == [] and out.completion.provider == "b"


async def test_nothing_is_called_past_the_deadline():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ok("a")]})
    out = await run([Target("a", "m")], [a], clock, deadline=clock.t + 0.2)
    assert not out.ok and a.calls == []
    assert out.failures[0].reason == "deadline"


async def test_call_timeouts_are_capped_by_the_deadline():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ok("a")]})
    await run([Target("a", "m", timeouts=CallTimeouts(5, 30, 120))], [a], clock, deadline=clock.t + 10)
    assert a.calls[0][2] == CallTimeouts(connect=5, first_byte=10, total=10)


async def test_attempt_budget_limits_calls_across_targets():
    clock = FakeClock()
    errors = {"m": [ProviderServerError("500") for _ in range(5)]}
    providers = [ScriptedProvider(n, clock, {"m": list(errors["m"])}) for n in "abc"]
    retry = RETRY.model_copy(update={"attempt_budget": 3})
    out = await run([Target(n, "m") for n in "abc"], providers, clock, retry=retry)
    assert len(out.attempts) == 3
    assert out.failures[-1].reason == "attempt_budget" and out.failures[-1].target == "c:m"


async def test_capabilities_and_context_window_skip_without_sending():
    clock = FakeClock()
    small = ScriptedProvider("small", clock, {"m": [ok()]})
    nostream = ScriptedProvider("nostream", clock, {"m": [ok()]})
    big = ScriptedProvider("big", clock, {"m": [ok("big")]})
    req = request(messages=[Message(role="user", content="x" * 4000)], stream=True)
    out = await run(
        [Target("small", "m", context_window=500), Target("nostream", "m", streaming=False),
         Target("big", "m", context_window=100_000)],
        [small, nostream, big], clock, req=req,
    )
    assert small.calls == [] and nostream.calls == []
    assert [f.reason for f in out.failures] == ["context_window", "capability"]
    assert out.completion.provider == "big"


async def test_context_length_exceeded_skips_to_a_larger_window():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ContextLengthExceeded("too long")]})
    same = ScriptedProvider("same", clock, {"m": [ok()]})
    larger = ScriptedProvider("larger", clock, {"m": [ok("larger")]})
    out = await run(
        [Target("a", "m", context_window=8000), Target("same", "m", context_window=8000),
         Target("larger", "m", context_window=32000)],
        [a, same, larger], clock,
    )
    assert same.calls == [] and len(a.calls) == 1
    assert out.completion.provider == "larger"


async def test_open_breaker_skips_with_no_timeout_penalty():
    clock = FakeClock()
    rt = runtime(clock, BreakerConfig(consecutive_failures=2, open_s=30))
    a = ScriptedProvider("a", clock, {"m": [ProviderTimeout("slow")] * 2}, duration=5.0)
    b = ScriptedProvider("b", clock, {"m": [ok("b"), ok("b")]})
    await run([Target("a", "m"), Target("b", "m")], [a, b], clock, rt=rt)
    assert rt.breakers.state("a:m") is BreakerState.open
    before = clock.t
    out = await run([Target("a", "m"), Target("b", "m")], [a, b], clock, rt=rt)
    assert out.completion.provider == "b" and len(a.calls) == 2
    assert clock.t - before == pytest.approx(0.1)  # only b's call took time


async def test_stream_cut_midway_emits_restart_then_falls_back():
    clock = FakeClock()
    chunks: list[tuple[int, str, bool]] = []

    async def on_chunk(seq: int, text: str, restart: bool) -> None:
        chunks.append((seq, text, restart))

    cut = Stream(["Hel", "lo"], StreamInterrupted("cut", provider="a", model="m"))
    a = ScriptedProvider("a", clock, {"m": [cut]})
    b = ScriptedProvider("b", clock, {"m": [Stream(["Hi", "!"], ok("b", text="Hi!"))]})
    policy = FallbackPolicy(actions={"stream_interrupted": "fall_through"})
    out = await run([Target("a", "m"), Target("b", "m")], [a, b], clock,
                    req=request(stream=True), policy=policy, on_chunk=on_chunk)
    assert chunks == [(0, "Hel", False), (1, "lo", False), (2, "", True), (3, "Hi", False), (4, "!", False)]
    assert out.ok and out.restarts == 1 and out.completion.content == "Hi!"
    assert out.attempts[0].cost_usd is None  # a cut stream may have been billed


async def test_stream_without_final_event_is_never_a_success():
    clock = FakeClock()
    chunks = []

    async def on_chunk(seq, text, restart):
        chunks.append((seq, text, restart))

    a = ScriptedProvider("a", clock, {"m": [Stream(["par", "tial"], None)] * 2})
    out = await run([Target("a", "m")], [a], clock, req=request(stream=True), on_chunk=on_chunk)
    assert not out.ok
    assert [f.code for f in out.failures] == ["stream_interrupted"] * 2
    assert [c for c in chunks if c[2]] == [(2, "", True), (5, "", True)]


async def test_missing_usage_and_unpriced_models_are_cost_unknown_not_zero():
    clock = FakeClock()
    no_usage = Completion("x", "stop", Usage(), "a", "gpt-4o", usage_missing=True)
    a = ScriptedProvider("a", clock, {"gpt-4o": [no_usage]})
    out = await run([Target("a", "gpt-4o", price=PRICES.lookup("openai", "gpt-4o"))], [a], clock)
    assert out.ok and out.cost_unknown and out.attempts[0].cost_usd is None
    assert any("no usage" in w for w in out.warnings)


async def test_failed_http_calls_cost_zero_when_priced():
    clock = FakeClock()
    price = PRICES.lookup("openai", "gpt-4o-mini")
    a = ScriptedProvider("a", clock, {"m": [ProviderServerError("500")] * 2})
    b = ScriptedProvider("b", clock, {"m": [ok("b", input_tokens=1000, output_tokens=100)]})
    out = await run([Target("a", "m", price=price), Target("b", "m", price=price)], [a, b], clock)
    assert [x.cost_usd for x in out.attempts] == [0, 0, Decimal("0.00021")]
    assert out.cost_usd == Decimal("0.00021") and not out.cost_unknown


async def test_all_failures_are_named_in_order():
    clock = FakeClock()
    a = ScriptedProvider("a", clock, {"m": [ProviderServerError("500", provider="a", model="m")] * 2})
    b = ScriptedProvider("b", clock, {"m": [ProviderTimeout("slow", provider="b", model="m")] * 2})
    out = await run([Target("a", "m"), Target("b", "m", tools=False), Target("c", "m", streaming=False)],
                    [a, b], clock, req=request(stream=True))
    assert [f.target for f in out.failures] == ["a:m", "a:m", "b:m", "b:m", "c:m"]
    wire = out.error.to_wire()
    assert [f["code"] for f in wire["details"]["failures"]] == [
        "provider_server_error", "provider_server_error", "provider_timeout", "provider_timeout",
        "target_skipped",
    ]
    assert out.error.retriable
