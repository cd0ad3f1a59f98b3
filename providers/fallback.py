"""The fallback loop: try a route's targets in order, recording every failure.

A plain loop (tensorzero style), no I/O of its own: it calls the injected
providers, sleeps through the injected ``sleep``, reads the injected clock. For each
target it decides, in this order:

1. can the target serve the request at all (streaming, tools, JSON mode, context
   window)? If not it is skipped, never sent;
2. are there attempts and time left (per-request attempt budget, deadline)?
3. does its circuit breaker admit a call (or is it held by a Retry-After)?
4. does its provider account have quota for one more call (the injected ``gate``;
   admission charges each call to the account it hits)?

then calls it, and on failure applies the route's :class:`FallbackPolicy`: stop the
request, fall through, retry here with backoff (bounded, deadline-aware), or skip to
a target with a larger context window. Every call becomes an :class:`Attempt` (a
usage row, with its cost); every call that failed and every target skipped becomes
one entry of ``failures``, so a final :class:`AllTargetsFailed` names them all.

Streaming: deltas go to ``on_chunk(seq, text, restart)`` as they arrive. When a
stream breaks after some text was forwarded, a ``restart`` marker is emitted before
anything else so consumers drop the partial text; a broken stream is never a success.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tokenyard.errors import AllTargetsFailed, ProviderError, StreamInterrupted, TargetSkipped
from tokenyard.pricing import cost_or_unknown
from tokenyard.providers.base import Attempt, CallTimeouts, Completion, Delta, Provider
from tokenyard.providers.breaker import BreakerBoard
from tokenyard.providers.outcome import InvokeOutcome
from tokenyard.providers.retry import fits_before_deadline, retry_delay
from tokenyard.providers.routing_config import FallbackAction, FallbackPolicy, RetryConfig
from tokenyard.providers.targets import Target, estimate_prompt_tokens, tokens_needed, unservable_reason
from tokenyard.schemas.records import Request, Usage

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
OnChunk = Callable[[int, str, bool], Awaitable[None]]
# Before each call: may (request, provider account) be called now? None: yes (and it is
# charged to that account); seconds: not before then, so the target is skipped.
CallGate = Callable[[Request, str], Awaitable[float | None]]

# A failed call with one of these codes may still have been billed (the provider did
# work before the cut); without usage from the provider its cost is unknown, not $0.
MAYBE_BILLED_CODES = frozenset({"stream_interrupted", "provider_timeout", "provider_bad_response"})


@dataclass(frozen=True)
class Runtime:
    """What the loop reads the world through; tests pass fakes."""

    breakers: BreakerBoard
    now: Clock  # epoch seconds, same clock as deadlines
    sleep: Sleep
    random: Callable[[], float]  # uniform in [0, 1)
    gate: CallGate | None = None  # provider-account quota for every call (admission)


async def run_fallback(
    route: str,
    request: Request,
    targets: Sequence[Target],
    providers: Mapping[str, Provider],
    *,
    policy: FallbackPolicy,
    retry: RetryConfig,
    runtime: Runtime,
    deadline_s: float,
    on_chunk: OnChunk | None = None,
    prompt_tokens: int | None = None,
) -> InvokeOutcome:
    """Serve ``request`` from the first target of ``targets`` that can; see module doc."""
    loop = _Loop(request, providers, policy, retry, runtime, deadline_s, on_chunk)
    needed = tokens_needed(request, prompt_tokens or estimate_prompt_tokens(request))
    larger_than: int | None = None
    for target in targets:
        reason = unservable_reason(target, request, needed, larger_than)
        if reason is not None:
            kind = reason.split(":", 1)[0]
            loop.skip(target, kind, f"not sent: {reason}", retriable=False)
            continue
        completion, last_error = await loop.try_target(target)
        if completion is not None:
            return loop.outcome(route, completion)
        if last_error is None:
            continue  # skipped before any call
        action = policy.action_for(last_error.code)
        if action is FallbackAction.stop:
            return loop.outcome(route, None, stopped_by=last_error)
        if action is FallbackAction.skip_to_larger:
            window = target.context_window or needed
            larger_than = window if larger_than is None else max(larger_than, window)
    return loop.outcome(route, None)


class _Loop:
    """The mutable bookkeeping of one ``run_fallback`` call (never shared)."""

    def __init__(
        self,
        request: Request,
        providers: Mapping[str, Provider],
        policy: FallbackPolicy,
        retry: RetryConfig,
        runtime: Runtime,
        deadline_s: float,
        on_chunk: OnChunk | None,
    ):
        self.request = request
        self.providers = providers
        self.policy = policy
        self.retry = retry
        self.rt = runtime
        self.deadline = deadline_s
        self.on_chunk = on_chunk
        self.attempts: list[Attempt] = []
        self.failures: list[ProviderError] = []
        self.warnings: list[str] = []
        self.seq = 0
        self.restarts = 0

    def skip(
        self, target: Target, reason: str, message: str, *, retriable: bool, retry_after: float | None = None
    ) -> None:
        self.failures.append(
            TargetSkipped(
                message, reason=reason, retriable=retriable, retry_after=retry_after,
                provider=target.provider, model=target.model,
            )
        )

    async def try_target(self, target: Target) -> tuple[Completion | None, ProviderError | None]:
        """Call ``target`` (with retries in place); the completion, or its last error."""
        last_error: ProviderError | None = None
        retries = 0
        while True:
            if len(self.attempts) >= self.retry.attempt_budget:
                if last_error is None:
                    self.skip(target, "attempt_budget", "not called: attempt budget spent",
                              retriable=False)
                return None, last_error
            now = self.rt.now()
            if not fits_before_deadline(now, 0.0, self.deadline, self.retry):
                if last_error is None:
                    self.skip(target, "deadline", "not called: too close to the deadline",
                              retriable=False)
                return None, last_error
            if not self.rt.breakers.allow(target.key, now, honour_hold=last_error is None):
                if last_error is None:
                    self.skip(target, "breaker_open", "not called: circuit open or held "
                              "by a Retry-After", retriable=True,
                              retry_after=self.rt.breakers.blocked_for(target.key, now))
                return None, last_error
            if self.rt.gate is not None:
                wait = await self.rt.gate(self.request, target.provider)
                if wait is not None:  # the account's quota is spent: not called, never over its limit
                    if last_error is None:
                        self.skip(target, "account_quota", f"not called: provider account {target.provider!r} "
                                  "has no quota left", retriable=True, retry_after=wait)
                    return None, last_error
            completion, error = await self._attempt(target)
            if error is None:
                return completion, None
            last_error = error
            if error.retry_after is not None:
                self.rt.breakers.hold(target.key, self.rt.now(), error.retry_after)
            if self.policy.action_for(error.code) is not FallbackAction.retry_then_fall_through:
                return None, error
            retries += 1
            if retries >= self.retry.max_attempts_per_target:
                return None, error
            delay = retry_delay(error, retries - 1, self.retry, self.rt.random)
            if delay is None or not fits_before_deadline(
                self.rt.now(), delay, self.deadline, self.retry
            ):
                return None, error
            await self.rt.sleep(delay)

    async def _attempt(self, target: Target) -> tuple[Completion | None, ProviderError | None]:
        provider = self.providers[target.provider]
        started = self.rt.now()
        timeouts = _within_deadline(target.timeouts, self.deadline - started)
        forwarded = 0

        async def forward(text: str) -> None:
            nonlocal forwarded
            forwarded += 1
            await self._emit(text, restart=False)

        try:
            completion = await self._call(provider, target, timeouts, forward)
        except ProviderError as error:
            if not error.provider:  # name the target even if the provider did not
                error.provider, error.model = target.provider, target.model
            latency_ms = (self.rt.now() - started) * 1000.0
            # A provider that says when to come back is managing its load, not broken:
            # the Retry-After hold keeps traffic off it; counting it too would turn a
            # one-second rate limit into a whole open_s outage.
            counted = None if error.retry_after is not None else error.code
            self.rt.breakers.record(target.key, self.rt.now(), code=counted)
            self.failures.append(error)
            self.attempts.append(self._failed_attempt(target, error, latency_ms))
            if forwarded:
                await self._emit("", restart=True)
                self.restarts += 1
            return None, error
        self.rt.breakers.record(target.key, self.rt.now(), code=None)
        self.attempts.append(self._ok_attempt(target, completion, started))
        return completion, None

    async def _call(
        self,
        provider: Provider,
        target: Target,
        timeouts: CallTimeouts,
        forward: Callable[[str], Awaitable[None]],
    ) -> Completion:
        if not self.request.stream:
            return await provider.complete(self.request, target.model, timeouts)
        async with aclosing(_ClosableIterator(provider.stream(self.request, target.model, timeouts))) as items:
            async for item in items:
                if isinstance(item, Completion):
                    return item
                if isinstance(item, Delta) and item.text:
                    await forward(item.text)
        raise StreamInterrupted(
            "stream ended without its final event",
            provider=target.provider, model=target.model,
        )

    async def _emit(self, text: str, *, restart: bool) -> None:
        if self.on_chunk is not None:
            await self.on_chunk(self.seq, text, restart)
        self.seq += 1

    def _ok_attempt(self, target: Target, completion: Completion, started: float) -> Attempt:
        cost: Decimal | None = None
        if completion.usage_missing:
            self.warnings.append(f"{target.key}: provider reported no usage; cost unknown")
        else:
            try:
                cost = cost_or_unknown(completion.usage, target.price)
            except ValueError as exc:
                self.warnings.append(f"{target.key}: inconsistent usage, cost unknown: {exc}")
        if cost is None and target.price is None:
            self.warnings.append(f"{target.key}: no price for this model; cost unknown")
        latency_ms = completion.latency_ms or (self.rt.now() - started) * 1000.0
        return Attempt(
            number=len(self.attempts) + 1,
            provider=target.provider,
            model=target.model,
            error=None,
            usage=completion.usage,
            cost_usd=cost,
            latency_ms=latency_ms,
            ttft_ms=completion.ttft_ms,
            rate_limits=completion.rate_limits,
        )

    def _failed_attempt(self, target: Target, error: ProviderError, latency_ms: float) -> Attempt:
        reported = error.details.get("usage")
        usage = reported if isinstance(reported, Usage) else Usage()
        cost: Decimal | None
        if isinstance(reported, Usage) or error.code not in MAYBE_BILLED_CODES:
            try:
                cost = cost_or_unknown(usage, target.price)
            except ValueError as exc:
                self.warnings.append(f"{target.key}: inconsistent usage, cost unknown: {exc}")
                cost = None
        else:
            cost = None
        return Attempt(
            number=len(self.attempts) + 1,
            provider=target.provider,
            model=target.model,
            error=error,
            usage=usage,
            cost_usd=cost,
            latency_ms=latency_ms,
            rate_limits=error.rate_limits,
        )

    def outcome(
        self, route: str, completion: Completion | None, *, stopped_by: ProviderError | None = None
    ) -> InvokeOutcome:
        return InvokeOutcome(
            route=route,
            completion=completion,
            error=None if completion is not None else AllTargetsFailed(route, list(self.failures)),
            attempts=tuple(self.attempts),
            failures=tuple(self.failures),
            stopped_by=stopped_by,
            restarts=self.restarts,
            warnings=tuple(dict.fromkeys(self.warnings)),
        )


def _within_deadline(timeouts: CallTimeouts, remaining_s: float) -> CallTimeouts:
    remaining_s = max(remaining_s, 0.0)
    return CallTimeouts(
        connect=min(timeouts.connect, remaining_s),
        first_byte=min(timeouts.first_byte, remaining_s),
        total=min(timeouts.total, remaining_s),
    )


class _ClosableIterator:
    """Wrap any async iterator so ``aclosing`` works even without ``aclose``."""

    def __init__(self, iterator: Any):
        self._iterator = iterator

    def __aiter__(self) -> _ClosableIterator:
        return self

    async def __anext__(self) -> Any:
        return await self._iterator.__anext__()

    async def aclose(self) -> None:
        close = getattr(self._iterator, "aclose", None)
        if close is not None:
            await close()
