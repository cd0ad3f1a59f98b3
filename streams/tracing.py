"""OpenTelemetry spans across the stages, with trace context in Kafka headers.

Off by default (``[tracing] enabled = false``): then :class:`Tracing` is a no-op
and nothing is imported beyond the OpenTelemetry API. When on, the client starts
a span per request and carries its W3C ``traceparent`` in the Kafka record
headers; a worker continues that trace with a ``gateway`` span and one child per
stage (lookup, admission, invoke). Spans go to an OTLP collector
(``exporter = "otlp"``, needs ``opentelemetry-exporter-otlp-proto-http``) or to a
JSON-lines file (``exporter = "file"``), through the OpenTelemetry SDK
(``pip install 'tokenyard[tracing]'``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel, ConfigDict

from tokenyard.errors import ConfigError

Headers = Sequence[tuple[str, bytes]]

_PROPAGATOR = TraceContextTextMapPropagator()


class TracingSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    service_name: str = "tokenyard"
    exporter: Literal["otlp", "file"] = "otlp"
    # exporter = "file": one JSON span per line (for development and tests)
    file: str = ".tokenyard/spans.jsonl"
    # exporter = "otlp": the collector's traces endpoint
    otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"


class Tracing:
    """The spans of one process; every method is a no-op when tracing is off."""

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @classmethod
    def from_settings(cls, settings: TracingSettings, *, role: str) -> Tracing:
        if not settings.enabled:
            return cls()
        return cls(_sdk_tracer(settings, role))

    @contextlib.contextmanager
    def span(self, name: str, *, parent: Context | None = None, **attributes: Any) -> Iterator[Any]:
        if self._tracer is None:
            yield None
            return
        clean = {k: v for k, v in attributes.items() if v is not None}
        with self._tracer.start_as_current_span(name, context=parent, attributes=clean) as span:
            yield span

    def headers(self) -> list[tuple[str, bytes]]:
        """The current trace context as Kafka record headers (empty when off)."""
        if self._tracer is None:
            return []
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return [(key, value.encode()) for key, value in carrier.items()]

    def context_from(self, headers: Headers | dict[str, bytes] | None) -> Context | None:
        """The caller's trace context carried in a record's headers, if any."""
        if self._tracer is None or not headers:
            return None
        items = headers.items() if isinstance(headers, dict) else headers
        carrier = {k: (v.decode("latin-1") if isinstance(v, bytes) else str(v)) for k, v in items}
        return _PROPAGATOR.extract(carrier)


def _sdk_tracer(settings: TracingSettings, role: str) -> trace.Tracer:
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:
        raise ConfigError("tracing.enabled needs the OpenTelemetry SDK: pip install 'tokenyard[tracing]'") from exc
    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name, "tokenyard.role": role}))
    if settings.exporter == "file":
        path = Path(settings.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        provider.add_span_processor(SimpleSpanProcessor(_JsonLinesExporter(path)))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise ConfigError(
                "tracing.exporter = 'otlp' needs opentelemetry-exporter-otlp-proto-http"
            ) from exc
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    return provider.get_tracer("tokenyard")


class _JsonLinesExporter:
    """Writes each finished span as one JSON line (append; safe across processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[Any]) -> Any:
        import orjson
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = b"".join(
            orjson.dumps({
                "name": s.name,
                "trace_id": format(s.context.trace_id, "032x"),
                "span_id": format(s.context.span_id, "016x"),
                "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
                "service": s.resource.attributes.get("service.name"),
                "role": s.resource.attributes.get("tokenyard.role"),
                "start_ns": s.start_time,
                "end_ns": s.end_time,
                "attributes": dict(s.attributes or {}),
            }) + b"\n"
            for s in spans
        )
        with self.path.open("ab") as fh:
            fh.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True
