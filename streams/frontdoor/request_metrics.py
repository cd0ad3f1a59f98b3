"""The front door's metrics, declared once on a process's :class:`Metrics` registry.

Label values come from bounded sets only: ``route`` is a configured route or
``unknown`` (never the caller's ``model`` string), ``outcome`` is ``ok`` or a known
error code (else ``other``), so no caller can grow the registry.
"""

from __future__ import annotations

from collections.abc import Collection

from tokenyard.streams.frontdoor.http_errors import BY_CODE
from tokenyard.streams.metrics import Metrics

UNKNOWN_ROUTE = "unknown"


class FrontDoorMetrics:
    def __init__(self, metrics: Metrics, routes: Collection[str]) -> None:
        self.registry = metrics
        self.routes = frozenset(routes)
        self.requests = metrics.counter(
            "tokenyard_frontdoor_requests_total",
            "Chat-completion calls answered by the front door, by route, streaming and outcome.",
            ["route", "stream", "outcome"],
        )
        self.latency = metrics.histogram(
            "tokenyard_frontdoor_request_duration_seconds",
            "Time from receiving a chat-completion call to its last byte.",
            ["route", "stream"],
        )
        self.first_token = metrics.histogram(
            "tokenyard_frontdoor_time_to_first_token_seconds",
            "Time from receiving a streamed call to writing its first text.",
            ["route"],
        )
        self.in_flight = metrics.gauge(
            "tokenyard_frontdoor_in_flight_requests", "Chat-completion calls being served now."
        )

    def route_label(self, route: str | None) -> str:
        return route if route in self.routes else UNKNOWN_ROUTE

    def record(self, route: str | None, stream: bool, outcome: str, seconds: float) -> None:
        route_label = self.route_label(route)
        outcome_label = outcome if outcome == "ok" or outcome in BY_CODE else "other"
        stream_label = "true" if stream else "false"
        self.requests.inc(route=route_label, stream=stream_label, outcome=outcome_label)
        self.latency.observe(seconds, route=route_label, stream=stream_label)
