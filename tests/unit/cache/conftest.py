from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from tokenyard.cache.config import CacheConfig, RouteCacheConfig
from tokenyard.cache.embedding import HashingEmbedder
from tokenyard.cache.entry import CacheEntry
from tokenyard.cache.storing import new_entry
from tokenyard.schemas.records import Message, Params, Request, Role, Usage


def make_request(
    text: str,
    *,
    tenant: str = "acme",
    route: str = "chat",
    system: str | None = None,
    request_id: str = "r1",
    **fields: object,
) -> Request:
    messages = [Message(role=Role.system, content=system)] if system else []
    messages.append(Message(role=Role.user, content=text))
    params = fields.pop("params", Params())
    return Request(
        request_id=request_id,
        tenant=tenant,
        model=route,
        messages=messages,
        params=params,
        reply_to="replies",
        **fields,
    )


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def config() -> CacheConfig:
    return CacheConfig(
        capacity_per_shard=1000,
        brute_force_below=8,
        default_route=RouteCacheConfig(ttl_s=100.0, similarity_threshold=0.5),
    )


def entry_for(
    request: Request, config: CacheConfig, vector: np.ndarray | None, now: float, content: str = "answer"
) -> CacheEntry:
    entry = new_entry(
        request,
        config,
        content=content,
        finish_reason="stop",
        provider="fake",
        provider_model="fake-1",
        usage=Usage(input_tokens=5, output_tokens=7),
        cost_usd=Decimal("0.0021"),
        embedding=vector,
        now=now,
    )
    assert entry is not None
    return entry
