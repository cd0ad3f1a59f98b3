"""The request metrics of the gateway stages: declared once, recorded by the gateway."""

from __future__ import annotations

from collections.abc import Collection

from tokenyard.errors import error_class
from tokenyard.streams.metrics import Metrics


class GatewayMetrics:
    """Request metrics for the gateway stages, declared once; the gateway records them.

    Label values must come from bounded sets: ``route`` is mapped to ``unknown``
    unless configured, ``target`` likewise, ``outcome`` is ``ok`` or a tokenyard
    error code (else ``other``).
    """

    def __init__(self, metrics: Metrics, routes: Collection[str], targets: Collection[str]) -> None:
        self.routes = frozenset(routes)
        self.targets = frozenset(targets)
        self.requests = metrics.counter(
            "tokenyard_requests_total", "Requests finished by a stage, by route and outcome.",
            ["stage", "route", "outcome"],
        )
        self.stage_latency = metrics.histogram(
            "tokenyard_stage_duration_seconds", "Time a request spent in one stage.", ["stage"]
        )
        self.provider_calls = metrics.counter(
            "tokenyard_provider_calls_total", "Calls to a provider target, by outcome.", ["target", "outcome"]
        )
        self.provider_latency = metrics.histogram(
            "tokenyard_provider_duration_seconds", "Duration of one provider call.", ["target"]
        )
        self.cache = metrics.counter(
            "tokenyard_cache_lookups_total", "Cache lookups by result (exact, semantic, miss, bypass).",
            ["route", "result"],
        )
        self.cache_rejections = metrics.counter(
            "tokenyard_cache_rejections_total",
            "Nearest neighbours refused by the verifier, by the check that refused them "
            "(added_words: weighed out by the model).",
            ["route", "reason"],
        )
        self.cache_judged = metrics.counter(
            "tokenyard_cache_judged_hits_total",
            "Semantic hits the word checks refused and the judge (cache/judge.py) reopened.", ["route"]
        )
        self.cache_saved = metrics.counter(
            "tokenyard_cache_saved_usd_total", "Provider cost avoided by cache hits, in USD.", ["route"]
        )
        self.tokens = metrics.counter(
            "tokenyard_tokens_total", "Tokens billed by providers.", ["route", "target", "kind"]
        )
        self.cost = metrics.counter("tokenyard_cost_usd_total", "Provider cost in USD.", ["route", "target"])
        self.admission = metrics.counter(
            "tokenyard_admission_decisions_total", "Admission decisions (admit, defer, reject).",
            ["route", "decision"],
        )

    def route(self, route: str | None) -> str:
        return route if route in self.routes else "unknown"

    def target(self, target: str | None) -> str:
        return target if target in self.targets else "unknown"

    @staticmethod
    def outcome(code: str | None) -> str:
        if code is None or code == "ok":
            return "ok"
        return code if error_class(code) is not None else "other"

    def finished(self, stage: str, route: str | None, code: str | None, seconds: float) -> None:
        self.requests.inc(stage=stage, route=self.route(route), outcome=self.outcome(code))
        self.stage_latency.observe(seconds, stage=stage)

    def provider_call(self, target: str, code: str | None, seconds: float) -> None:
        self.provider_calls.inc(target=self.target(target), outcome=self.outcome(code))
        self.provider_latency.observe(seconds, target=self.target(target))

    def billed(self, route: str | None, target: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        r, t = self.route(route), self.target(target)
        self.tokens.inc(input_tokens, route=r, target=t, kind="input")
        self.tokens.inc(output_tokens, route=r, target=t, kind="output")
        self.cost.inc(cost_usd, route=r, target=t)
