"""What a provider's answer becomes in the cache (:func:`new_entry`), and which text of
a request is embedded (:func:`question_text`)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from tokenyard.cache.config import CacheConfig
from tokenyard.cache.entry import CacheEntry
from tokenyard.cache.keys import cache_policy, request_keys
from tokenyard.schemas.records import Request, Usage

CACHEABLE_FINISH_REASONS = frozenset({"stop", "length"})


def new_entry(
    request: Request,
    config: CacheConfig,
    *,
    content: str,
    finish_reason: str,
    provider: str,
    provider_model: str,
    usage: Usage,
    cost_usd: Decimal | None,
    embedding: np.ndarray | None,
    now: float,
) -> CacheEntry | None:
    """The entry to publish for a provider's answer, or None when it must not be stored."""
    route = config.for_route(request.model)
    if not cache_policy(request, route, cache_enabled=config.enabled).may_store:
        return None
    if finish_reason not in CACHEABLE_FINISH_REASONS or not content:
        return None
    keys = request_keys(request, route)
    return CacheEntry(
        entry_id=keys.exact_key,
        tenant=keys.tenant,
        route=keys.route,
        scope_id=keys.scope_id,
        scope_tenant=keys.scope_tenant,
        prompt=keys.prompt,
        content=content,
        finish_reason=finish_reason,
        provider=provider,
        provider_model=provider_model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost_usd=cost_usd,
        max_tokens=request.params.max_tokens,
        created_at=now,
        expires_at=now + route.ttl_s,
        request_id=request.request_id,
        embedding=None if embedding is None or not route.semantic else np.asarray(embedding, np.float32),
    )


def question_text(request: Request, config: CacheConfig) -> str:
    """The text to embed for ``request``: the normalised last non-system message."""
    return request_keys(request, config.for_route(request.model)).prompt
