"""Named queries as JSON, in the process that owns the chDB directory, and its client.

chDB lets one process open a data directory. While the stack runs, the usage sink
owns it, so ``tokenyard report --via http://127.0.0.1:PORT`` asks the sink's web
server (``GET /analytics/query/{name}/?param=value``, answered with
``{"rows": [...]}`` or ``{"error": {...}}``) instead of opening the directory.
Both sides live here so the wire format is defined once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from tokenyard.analytics.client import AnalyticsClient
from tokenyard.analytics.queries import run_query
from tokenyard.errors import InvalidRequest, RemoteError, SinkUnavailable

QUERY_PATH = "/analytics/query/{name}/"


def handle_query(
    client: AnalyticsClient, name: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Run the named query; rows are JSON-ready (see ``jsonable``).

    Blocking (call it from the thread that owns the client). Raises
    ``InvalidRequest`` for an unknown query or bad parameters (HTTP 400) and
    ``SinkUnavailable`` when ClickHouse fails (HTTP 503).
    """
    return [jsonable(row) for row in run_query(client, name, dict(params))]


def jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    """Decimals as strings (exact to the nano-dollar), instants as ISO-8601 UTC."""
    return {key: _json_value(value) for key, value in row.items()}


def fetch_query(
    http: httpx.Client, base_url: str, name: str, params: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of a named query, asked of the process that owns ClickHouse.

    ``RemoteError`` carries the server's error code; ``SinkUnavailable`` means the
    server could not be reached at all.
    """
    url = base_url.rstrip("/") + QUERY_PATH.format(name=name)
    wire_params = {key: _param_text(value) for key, value in params.items() if value is not None}
    try:
        response = http.get(url, params=wire_params)
    except httpx.HTTPError as exc:
        raise SinkUnavailable(f"analytics query api at {base_url} unreachable: {exc}") from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise SinkUnavailable(
            f"analytics query api at {base_url} answered {response.status_code} without JSON"
        ) from exc
    if response.status_code != 200 or "rows" not in body:
        error = body.get("error") or {}
        raise RemoteError(
            error.get("code", "internal_error"),
            error.get("message", f"HTTP {response.status_code}"),
            retriable=bool(error.get("retriable", response.status_code >= 500)),
        )
    rows = body["rows"]
    if not isinstance(rows, list):
        raise InvalidRequest(f"analytics query api answered rows of type {type(rows).__name__}")
    return rows


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        instant = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    return value


def _param_text(value: Any) -> str:
    if isinstance(value, datetime):
        return _json_value(value)
    return str(value)
