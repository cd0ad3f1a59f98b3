"""Analyst queries over HTTP, served by the usage sink process.

Embedded chDB allows one process per data directory and the sink holds it while
the stack runs, so readers (`tokenyard report`, the tests, the demo) ask the
sink on its loopback web port instead of opening the directory themselves.
Only the named, documented queries in ``analytics/queries/`` can be run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tokenyard.analytics.client import AnalyticsClient
from tokenyard.errors import TokenyardError


def register(app: Any, client: AnalyticsClient, run_blocking: Callable[[Callable[[], Any]], Awaitable[Any]]) -> None:
    from tokenyard.analytics.query_api import handle_query

    @app.page("/analytics/query/{name}/")
    async def query(web: Any, request: Any, name: str) -> Any:
        params = dict(request.query)
        try:
            rows = await run_blocking(lambda: handle_query(client, name, params))
        except TokenyardError as exc:
            status = 503 if exc.retriable else 400
            return web.json({"error": exc.to_wire()}, status=status)
        return web.json({"rows": rows})
