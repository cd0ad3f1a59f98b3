"""Turn what happened to a request into its reply and usage rows (pure)."""

from __future__ import annotations

from decimal import Decimal

from tokenyard.cache import Hit, Miss
from tokenyard.errors import TokenyardError
from tokenyard.providers.base import Attempt, Completion
from tokenyard.schemas.records import ErrorInfo, Priority, Reply, Request, Usage, UsageEvent


def attempt_event_id(request_id: str, number: int) -> str:
    return f"{request_id}/attempt/{number}"


def request_event_id(request_id: str) -> str:
    return f"{request_id}/request"


def success_reply(
    request: Request, completion: Completion, cost: Decimal | None, attempts: int, latency_ms: float, now_ms: int
) -> Reply:
    return Reply(
        request_id=request.request_id,
        tenant=request.tenant,
        status="ok",
        model=request.model,
        provider=completion.provider,
        provider_model=completion.model,
        content=completion.content,
        finish_reason=completion.finish_reason,
        usage=completion.usage,
        cost_usd=cost,
        cost_unknown=cost is None,
        attempts=attempts,
        latency_ms=round(latency_ms, 3),
        created_ms=now_ms,
    )


def cached_reply(request: Request, hit: Hit, latency_ms: float, now_ms: int) -> Reply:
    """A stored answer: no tokens spent, nothing paid; the saving goes in the usage row."""
    entry = hit.entry
    return Reply(
        request_id=request.request_id,
        tenant=request.tenant,
        status="ok",
        model=request.model,
        provider=entry.provider,
        provider_model=entry.provider_model,
        content=entry.content,
        finish_reason=entry.finish_reason,
        usage=Usage(),
        cost_usd=Decimal(0),
        cached=True,
        similarity=round(hit.similarity, 6),
        cache_entry_id=entry.entry_id,
        latency_ms=round(latency_ms, 3),
        created_ms=now_ms,
    )


def error_reply(
    request_id: str, tenant: str | None, error: TokenyardError, now_ms: int, *, model: str | None = None,
    attempts: int = 0, latency_ms: float | None = None,
) -> Reply:
    return Reply(
        request_id=request_id,
        tenant=tenant,
        status="error",
        model=model,
        attempts=attempts,
        latency_ms=None if latency_ms is None else round(latency_ms, 3),
        created_ms=now_ms,
        error=ErrorInfo.model_validate(error.to_wire()),
    )


def attempt_events(request: Request, attempts: list[Attempt], now_ms: int) -> list[UsageEvent]:
    return [
        UsageEvent(
            event_id=attempt_event_id(request.request_id, a.number),
            kind="attempt",
            ts_ms=now_ms,
            request_id=request.request_id,
            attempt=a.number,
            tenant=request.tenant,
            route=request.model,
            provider=a.provider,
            model=a.model,
            status=a.status,
            error_code="" if a.error is None else a.error.code,
            input_tokens=a.usage.input_tokens,
            output_tokens=a.usage.output_tokens,
            cached_input_tokens=a.usage.cached_input_tokens,
            reasoning_tokens=a.usage.reasoning_tokens,
            cost_usd=a.cost_usd or Decimal(0),
            cost_unknown=a.cost_usd is None and a.error is None,
            latency_ms=round(a.latency_ms, 3),
            ttft_ms=a.ttft_ms,
            priority=(request.priority or Priority.normal).value,
            tags=dict(request.metadata),
        )
        for a in attempts
    ]


def request_event(
    request: Request,
    reply: Reply,
    attempts: list[Attempt],
    now_ms: int,
    *,
    cost_saved: Decimal = Decimal(0),
    cache_tags: dict[str, str] | None = None,
    crash_retries: int = 0,
) -> UsageEvent:
    """The outcome row: total cost over every attempt, final status, fallback depth."""
    usage = reply.usage or Usage()
    known = [a.cost_usd for a in attempts if a.cost_usd is not None]
    return UsageEvent(
        event_id=request_event_id(request.request_id),
        kind="request",
        ts_ms=now_ms,
        request_id=request.request_id,
        attempt=len(attempts),
        tenant=request.tenant,
        route=request.model,
        provider=reply.provider or "",
        model=reply.provider_model or "",
        status=reply.status if reply.error is None else reply.error.code,
        error_code="" if reply.error is None else reply.error.code,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_input_tokens=usage.cached_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=sum(known, Decimal(0)),
        cost_unknown=reply.cost_unknown,
        cost_saved_usd=cost_saved,
        cached=reply.cached,
        similarity=reply.similarity,
        latency_ms=reply.latency_ms or 0.0,
        fallback_depth=_fallback_depth(attempts),
        priority=(request.priority or Priority.normal).value,
        tags={
            **request.metadata,
            **(cache_tags or {}),
            **({"crash_retries": str(crash_retries)} if crash_retries else {}),
        },
    )


def lost_attempt_events(request: Request, lost: int, now_ms: int) -> list[UsageEvent]:
    """Calls a crashed worker made for this request and never reported.

    The provider may have billed them; what they cost is unknown, never $0.
    """
    return [
        UsageEvent(
            event_id=f"{request.request_id}/lost/{n}",
            kind="attempt",
            ts_ms=now_ms,
            request_id=request.request_id,
            attempt=0,
            tenant=request.tenant,
            route=request.model,
            status="lost_in_crash",
            error_code="worker_crashed",
            cost_unknown=True,
            priority=(request.priority or Priority.normal).value,
            tags={**request.metadata, "crash_retry": "1"},
        )
        for n in range(1, lost + 1)
    ]


def cache_tags(result: Hit | Miss | None) -> dict[str, str]:
    """How the lookup stage treated a request, for the cache statistics."""
    if isinstance(result, Hit):
        return {"cache": result.kind}
    if isinstance(result, Miss):
        kind = "bypass" if result.reason in ("bypass", "refresh", "disabled") else "miss"
        return {"cache": kind, "cache_rejected": str(result.rejected)} if result.rejected else {"cache": kind}
    return {}


def _fallback_depth(attempts: list[Attempt]) -> int:
    """How many distinct targets were tried before the last one."""
    targets: list[tuple[str, str]] = []
    for a in attempts:
        if (a.provider, a.model) not in targets:
            targets.append((a.provider, a.model))
    return max(len(targets) - 1, 0)
