"""The router: from a request's route name to a chain of targets, run with fallback.

Built once per worker from the typed config, the provider objects (one per
configured account, sharing one ``httpx.AsyncClient``), the price table and the
injected clock/sleep/random. It owns the worker's circuit breakers.

Which chain a request gets:

* ``priority = "low"`` and the route has ``low_priority_targets``: that chain;
* else, with ``weights``: the A/B arm picked from a hash of (route, request_id) goes
  first, then the rest of ``targets`` in order. The pick depends on nothing else, so a
  redelivered or retried request lands on the same arm;
* else ``targets`` in order.
"""

from __future__ import annotations

import asyncio
import hashlib
import random as random_module
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import httpx

from tokenyard.errors import ConfigError, UnknownRoute
from tokenyard.pricing import Price, PriceTable, load_shipped_prices
from tokenyard.providers.base import Provider
from tokenyard.providers.breaker import BreakerBoard, BreakerSnapshot
from tokenyard.providers.config import ProviderConfig, resolve_api_key
from tokenyard.providers.factory import build_provider
from tokenyard.providers.fallback import CallGate, Clock, OnChunk, Runtime, Sleep, run_fallback
from tokenyard.providers.outcome import InvokeOutcome
from tokenyard.providers.routing_config import (
    BreakerConfig,
    RetryConfig,
    RouteConfig,
    RoutingConfig,
    split_target,
)
from tokenyard.providers.targets import Target, estimate_prompt_tokens
from tokenyard.schemas.records import Priority, Request


class RouterSettings(Protocol):
    """The parts of the worker settings the router reads (``streams.settings.Settings``)."""

    @property
    def providers(self) -> Mapping[str, ProviderConfig]: ...
    @property
    def routes(self) -> Mapping[str, RouteConfig]: ...
    @property
    def retry(self) -> RetryConfig: ...
    @property
    def breaker(self) -> BreakerConfig: ...
    @property
    def prices(self) -> Mapping[str, Price]: ...


def pick_arm(route: str, request_id: str, targets: Sequence[str], weights: Mapping[str, float]) -> str:
    """The A/B arm for ``request_id``: deterministic, proportional to ``weights``.

    Arms are walked in ``targets`` order (not dict order) so the same config always
    maps the same request to the same arm.
    """
    digest = hashlib.blake2b(f"{route}\x00{request_id}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") / 2**64  # uniform in [0, 1)
    arms = [(t, weights[t]) for t in targets if weights.get(t, 0) > 0]
    total = sum(w for _, w in arms)
    cumulative = 0.0
    for target, weight in arms:
        cumulative += weight / total
        if point < cumulative:
            return target
    return arms[-1][0]  # float rounding left the point just above the last bound


def build_targets(
    providers: Mapping[str, ProviderConfig], prices: PriceTable, keys: Sequence[str], where: str
) -> list[Target]:
    """Targets for ``keys`` with capabilities, timeouts and price from the config."""
    targets = []
    for key in keys:
        provider_name, model_name = split_target(key)
        cfg = providers.get(provider_name)
        if cfg is None:
            known = ", ".join(sorted(providers)) or "none"
            raise ConfigError(
                f"{where}: target {key!r} names provider {provider_name!r}, "
                f"which is not configured (known: {known})",
                key=where,
            )
        try:
            model = cfg.model(model_name)
        except ConfigError as exc:
            raise ConfigError(f"{where}: target {key!r}: {exc.message}", key=where) from exc
        if not model.capabilities.chat:
            raise ConfigError(f"{where}: target {key!r} is not a chat model", key=where)
        targets.append(
            Target(
                provider=provider_name,
                model=model_name,
                context_window=model.context_window,
                streaming=model.capabilities.streaming,
                tools=model.capabilities.tools,
                json_mode=model.capabilities.json_mode,
                timeouts=cfg.timeouts.to_call_timeouts(),
                price=prices.lookup(provider_name, model_name, kind=cfg.kind),
            )
        )
    return targets


class Router:
    """Routes requests to provider targets with fallback, retries and breakers."""

    def __init__(
        self,
        *,
        providers: Mapping[str, ProviderConfig],
        routes: Mapping[str, RouteConfig],
        provider_objects: Mapping[str, Provider],
        prices: PriceTable,
        retry: RetryConfig | None = None,
        breaker: BreakerConfig | None = None,
        now: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
        random: Callable[[], float] | None = None,
        estimate_tokens: Callable[[Request], int] = estimate_prompt_tokens,
    ):
        self._routes = dict(routes)
        self._retry = retry or RetryConfig()
        self._provider_objects = dict(provider_objects)
        self._estimate_tokens = estimate_tokens
        self._chains: dict[str, list[Target]] = {}
        self._low_chains: dict[str, list[Target]] = {}
        for name, route in self._routes.items():
            self._chains[name] = build_targets(providers, prices, route.targets, f"routes.{name}")
            if route.low_priority_targets:
                self._low_chains[name] = build_targets(
                    providers, prices, route.low_priority_targets,
                    f"routes.{name}.low_priority_targets",
                )
        used = {t.provider for chain in (*self._chains.values(), *self._low_chains.values()) for t in chain}
        missing = sorted(used - set(self._provider_objects))
        if missing:
            raise ConfigError(f"no provider object for configured provider(s) {missing}")
        self._board = BreakerBoard(breaker or BreakerConfig())
        self._now = now
        self._runtime = Runtime(
            breakers=self._board,
            now=now,
            sleep=sleep,
            random=random or random_module.Random().random,
        )

    @classmethod
    def from_config(
        cls,
        *,
        providers: Mapping[str, ProviderConfig],
        routing: RoutingConfig,
        client: httpx.AsyncClient,
        environ: Mapping[str, str],
        prices: PriceTable,
        **runtime: object,
    ) -> Router:
        """Build real providers (one per account, on the shared client) and the router.

        Only providers some route uses are built, so an unused account needs no key.
        """
        used = {
            split_target(key)[0]
            for route in routing.routes.values()
            for key in (*route.targets, *(route.low_priority_targets or ()))
        }
        objects = {
            name: build_provider(name, cfg, client, resolve_api_key(name, cfg, environ))
            for name, cfg in providers.items()
            if name in used
        }
        return cls(
            providers=providers,
            routes=routing.routes,
            provider_objects=objects,
            prices=prices,
            retry=routing.retry,
            breaker=routing.breaker,
            **runtime,  # type: ignore[arg-type]
        )

    @classmethod
    def from_settings(
        cls,
        settings: RouterSettings,
        *,
        http: httpx.AsyncClient,
        environ: Mapping[str, str],
        shipped_prices: PriceTable | None = None,
        **runtime: object,
    ) -> Router:
        """The worker's router from its settings: shipped prices with config overrides."""
        prices = (shipped_prices or load_shipped_prices()).with_overrides(settings.prices)
        routing = RoutingConfig(routes=settings.routes, retry=settings.retry, breaker=settings.breaker)
        return cls.from_config(
            providers=settings.providers, routing=routing, client=http, environ=environ,
            prices=prices, **runtime,
        )

    def gate_calls(self, gate: CallGate) -> None:
        """Ask ``gate`` before every provider call (admission's per-account quota)."""
        self._runtime = replace(self._runtime, gate=gate)

    def has_route(self, name: str) -> bool:
        return name in self._routes

    def route_names(self) -> list[str]:
        return sorted(self._routes)

    def unpriced_targets(self) -> list[str]:
        """Targets with no price: their calls will be reported ``cost_unknown``."""
        chains = (*self._chains.values(), *self._low_chains.values())
        return sorted({t.key for chain in chains for t in chain if t.price is None})

    def chain_for(self, request: Request) -> tuple[list[Target], str | None]:
        """The ordered targets for ``request`` and the A/B arm picked (None if unweighted)."""
        name = request.model
        if name not in self._routes:
            raise UnknownRoute(
                f"model {name!r} names no configured route (known: {', '.join(self.route_names())})"
            )
        route = self._routes[name]
        if request.priority is Priority.low and name in self._low_chains:
            return list(self._low_chains[name]), None
        chain = self._chains[name]
        if not route.weights:
            return list(chain), None
        arm = pick_arm(name, request.request_id, route.targets, route.weights)
        first = [t for t in chain if t.key == arm]
        return first + [t for t in chain if t.key != arm], arm

    async def invoke(
        self, request: Request, *, deadline_s: float, on_chunk: OnChunk | None = None
    ) -> InvokeOutcome:
        """Serve ``request`` (``deadline_s``: absolute, epoch seconds, same clock as ``now``).

        Raises ``UnknownRoute``; every provider failure is in the returned outcome.
        """
        chain, arm = self.chain_for(request)
        route = self._routes[request.model]
        outcome = await run_fallback(
            request.model,
            request,
            chain,
            self._provider_objects,
            policy=route.policy,
            retry=route.retry or self._retry,
            runtime=self._runtime,
            deadline_s=deadline_s,
            on_chunk=on_chunk,
            prompt_tokens=self._estimate_tokens(request),
        )
        return replace(outcome, arm=arm)

    def breakers(self) -> dict[str, BreakerSnapshot]:
        """Every target's breaker, for metrics and status."""
        return self._board.snapshot(self._now())
