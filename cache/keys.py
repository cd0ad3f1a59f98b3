"""Who may share an answer, and whether a request may use the cache at all.

Two keys come out of a request:

* the **scope**: everything that changes the answer besides the question itself:
  tenant (unless the route shares its scope), route, system prompt, earlier turns of
  the conversation and the answer-changing generation parameters. Entries never cross
  scopes: the semantic search runs only inside one scope's index.
* the **exact key**: the scope plus the normalised question. Equal exact keys hit
  without an embedding.

``max_tokens`` is deliberately *not* in either key. It does not change what the
answer is, only where it may be cut: splitting scopes by it would divide the hit
rate by the number of distinct limits clients send. Instead :func:`fits_max_tokens`
checks, per candidate, that the stored answer is complete and fits the caller's
limit (a truncated answer only serves the exact same limit).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from enum import Enum

import orjson

from tokenyard.cache.config import RouteCacheConfig
from tokenyard.schemas.records import CacheMode, Message, Params, Request, Role

#: Scope tenant of routes that declare ``shared_scope``.
SHARED_TENANT = "*"


class CacheAction(str, Enum):
    LOOKUP = "lookup"  # look up, and store the provider's answer on a miss
    REFRESH = "refresh"  # skip the lookup, store the new answer
    BYPASS = "bypass"  # neither look up nor store


@dataclass(frozen=True)
class CachePolicy:
    action: CacheAction
    reason: str

    @property
    def may_lookup(self) -> bool:
        return self.action is CacheAction.LOOKUP

    @property
    def may_store(self) -> bool:
        return self.action is not CacheAction.BYPASS


def cache_policy(request: Request, route: RouteCacheConfig, *, cache_enabled: bool = True) -> CachePolicy:
    """Decide from the request alone; the order names the most specific reason."""
    if not cache_enabled or not route.enabled:
        return CachePolicy(CacheAction.BYPASS, "disabled")
    if request.cache is CacheMode.skip:
        return CachePolicy(CacheAction.BYPASS, "skip")
    if request.tools or any(m.role is Role.tool for m in request.messages):
        # Tool calls act on the world and their results are not in the prompt text.
        return CachePolicy(CacheAction.BYPASS, "tools")
    temperature = request.params.temperature
    if temperature is not None and temperature > route.max_temperature:
        return CachePolicy(CacheAction.BYPASS, "temperature")
    if request.cache is CacheMode.refresh:
        return CachePolicy(CacheAction.REFRESH, "refresh")
    return CachePolicy(CacheAction.LOOKUP, "default")


@dataclass(frozen=True)
class CacheKeys:
    tenant: str  # the requesting tenant
    route: str
    scope_tenant: str  # the tenant, or SHARED_TENANT
    scope_id: str
    exact_key: str
    prompt: str  # the question: embedded and verified


def normalise_text(text: str) -> str:
    """Unicode NFKC, trimmed, whitespace runs collapsed; case is kept (code cares)."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def temperature_bucket(temperature: float | None) -> str:
    """Coarse buckets: a greedy answer never serves a sampled request or the reverse."""
    if temperature is None:
        return "default"  # the provider's default, which differs between providers
    if temperature == 0.0:
        return "greedy"
    if temperature <= 0.5:
        return "low"
    if temperature <= 1.0:
        return "mid"
    return "high"


def _digest(payload: object) -> str:
    data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _answer_changing_params(params: Params) -> dict[str, object]:
    return {
        "temperature": temperature_bucket(params.temperature),
        "top_p": params.top_p,
        "stop": sorted(params.stop) if params.stop else None,
        "seed": params.seed,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
        "response_format": params.response_format or "text",
    }


def _message_wire(message: Message) -> list[object]:
    return [message.role.value, message.name, normalise_text(message.content)]


def split_prompt(messages: list[Message]) -> tuple[list[Message], list[Message], Message]:
    """(system messages, earlier turns, the question) — the question is the last non-system message."""
    system = [m for m in messages if m.role is Role.system]
    turns = [m for m in messages if m.role is not Role.system]
    return system, turns[:-1], turns[-1]


def request_keys(request: Request, route: RouteCacheConfig) -> CacheKeys:
    system, earlier, question = split_prompt(request.messages)
    scope_tenant = SHARED_TENANT if route.shared_scope else request.tenant
    scope_id = _digest(
        {
            "tenant": scope_tenant,
            "route": request.model,
            "system": [_message_wire(m) for m in system],
            "earlier": [_message_wire(m) for m in earlier],
            "params": _answer_changing_params(request.params),
        }
    )
    prompt = normalise_text(question.content)
    exact_key = _digest({"scope": scope_id, "question": _message_wire(question)})
    return CacheKeys(
        tenant=request.tenant,
        route=request.model,
        scope_tenant=scope_tenant,
        scope_id=scope_id,
        exact_key=exact_key,
        prompt=prompt,
    )


def fits_max_tokens(
    requested: int | None, stored_limit: int | None, output_tokens: int, finish_reason: str
) -> bool:
    """May an answer stored under ``stored_limit`` serve a request asking for ``requested``?"""
    if finish_reason == "length":
        # Cut by its own limit: only a caller with that very limit gets the same cut answer.
        return requested == stored_limit
    return requested is None or output_tokens <= requested
