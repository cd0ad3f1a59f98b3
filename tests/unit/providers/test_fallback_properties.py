"""Property: for any sequence of target outcomes the fallback loop tries targets in
order, respects the deadline and the attempt budget, records every failure, and never
reports success when every outcome was a failure."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenyard.errors import (
    ContentFiltered,
    ContextLengthExceeded,
    ProviderAuthError,
    ProviderBadRequest,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderServerError,
    ProviderTimeout,
    StreamInterrupted,
    TargetSkipped,
)
from tokenyard.providers.breaker import BreakerBoard
from tokenyard.providers.fallback import Runtime, run_fallback
from tokenyard.providers.routing_config import (
    BreakerConfig,
    FallbackAction,
    FallbackPolicy,
    RetryConfig,
)
from tokenyard.providers.targets import Target

from .test_fallback import FakeClock, ScriptedProvider, Stream, ok, request

ERRORS = {
    "500": lambda: ProviderServerError("500"),
    "529": lambda: ProviderOverloaded("529"),
    "timeout": lambda: ProviderTimeout("slow"),
    "429": lambda: ProviderRateLimited("429"),
    "429-ra": lambda: ProviderRateLimited("429", retry_after=2.0),
    "429-long": lambda: ProviderRateLimited("429", retry_after=120.0),
    "auth": lambda: ProviderAuthError("401"),
    "bad": lambda: ProviderBadRequest("400"),
    "filter": lambda: ContentFiltered("nope"),
    "ctx": lambda: ContextLengthExceeded("long"),
    "cut": lambda: StreamInterrupted("cut"),
}
outcome_names = st.sampled_from(["ok", *ERRORS])

scenario = st.fixed_dictionaries(
    {
        "scripts": st.lists(st.lists(outcome_names, min_size=12, max_size=12), min_size=1, max_size=5),
        "windows": st.lists(st.one_of(st.none(), st.integers(1, 40_000)), min_size=5, max_size=5),
        "durations": st.lists(st.floats(0.0, 5.0), min_size=5, max_size=5),
        "max_attempts": st.integers(1, 4),
        "budget": st.integers(1, 12),
        "time_left": st.floats(0.0, 30.0),
        "rand": st.floats(0.0, 0.999),
        "stream": st.booleans(),
        "failures_only": st.booleans(),
    }
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=scenario)
async def test_fallback_loop_properties(s):
    clock = FakeClock()
    n = len(s["scripts"])
    scripts = [
        [name for name in script if not (s["failures_only"] and name == "ok")] or ["500"]
        for script in s["scripts"]
    ]
    providers = []
    for i, script in enumerate(scripts):
        outcomes = [
            (ok(f"p{i}", "m") if name == "ok" else ERRORS[name]()) for name in (script * 12)[:12]
        ]
        if s["stream"]:
            outcomes = [Stream(["a", "b"], o) for o in outcomes]
        providers.append(ScriptedProvider(f"p{i}", clock, {"m": outcomes}, duration=s["durations"][i]))
    targets = [Target(f"p{i}", "m", context_window=s["windows"][i]) for i in range(n)]
    retry = RetryConfig(
        max_attempts_per_target=s["max_attempts"], attempt_budget=s["budget"],
        base_delay_s=0.1, max_delay_s=1.0, retry_after_cap_s=10.0, min_attempt_s=0.5,
    )
    policy = FallbackPolicy()
    deadline = clock.t + s["time_left"]
    sleeps_before: list[tuple[float, float]] = []

    async def sleep(seconds: float) -> None:
        sleeps_before.append((clock.t, seconds))
        await clock.sleep(seconds)

    chunks: list[tuple[int, str, bool]] = []

    async def on_chunk(seq: int, text: str, restart: bool) -> None:
        chunks.append((seq, text, restart))

    out = await run_fallback(
        "chat", request(stream=s["stream"]), targets, {p.name: p for p in providers},
        policy=policy, retry=retry,
        runtime=Runtime(BreakerBoard(BreakerConfig(consecutive_failures=1000)), clock.now, sleep,
                        lambda: s["rand"]),
        deadline_s=deadline, on_chunk=on_chunk,
    )

    calls = [(int(p.name[1:]), t) for p in providers for (_, t, _) in p.calls]
    calls.sort(key=lambda c: c[1])
    order = [i for i, _ in calls]
    # Targets are tried in order, each in one contiguous run (never revisited).
    assert order == sorted(order)
    # Attempt budget and per-target retries.
    assert len(out.attempts) == len(calls) <= retry.attempt_budget
    for i in set(order):
        assert order.count(i) <= retry.max_attempts_per_target
    # Deadline: every call started with at least min_attempt_s left; no sleep ran past it.
    for _, started in calls:
        assert started + retry.min_attempt_s <= deadline + 1e-9
    for started, seconds in sleeps_before:
        assert started + seconds + retry.min_attempt_s <= deadline + 1e-9
    # Attempts are numbered 1..n and every failed call is a recorded failure, in order.
    assert [a.number for a in out.attempts] == list(range(1, len(out.attempts) + 1))
    called_failures = [f for f in out.failures if not isinstance(f, TargetSkipped)]
    assert called_failures == [a.error for a in out.attempts if a.error is not None]
    # Success only from an ok outcome, and only as the very last attempt.
    if s["failures_only"]:
        assert not out.ok
    if out.ok:
        assert out.attempts[-1].error is None
        assert all(a.error is not None for a in out.attempts[:-1])
    else:
        assert out.error is not None and list(out.error.failures) == list(out.failures)
        assert all(a.error is not None for a in out.attempts)
    # A "stop" error ends the request: nothing is called after it.
    for k, attempt in enumerate(out.attempts):
        if attempt.error is not None and policy.action_for(attempt.error.code) is FallbackAction.stop:
            assert k == len(out.attempts) - 1 and out.stopped_by is attempt.error
    # Every target the loop reached is either called or named as skipped.
    reached = {f.target for f in out.failures} | {f"{a.provider}:{a.model}" for a in out.attempts}
    if not out.ok and out.stopped_by is None:
        assert reached == {t.key for t in targets}
    # Streams: a restart marker follows every attempt that forwarded text and failed.
    if s["stream"]:
        assert [c[0] for c in chunks] == list(range(len(chunks)))
        failed_calls = sum(1 for a in out.attempts if a.error is not None)
        assert sum(1 for c in chunks if c[2]) == failed_calls == out.restarts
