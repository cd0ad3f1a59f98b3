"""The analyst queries in ``queries/*.sql``, loaded and run by name.

Each file starts with a header of ``--`` lines:

    -- answers: what the query answers (continuation lines indented)
    -- param NAME TYPE: meaning                 (required)
    -- param NAME TYPE = DEFAULT: meaning       (optional)

and uses ClickHouse query parameters ``{NAME:TYPE}``. A header and body that
disagree on the parameters is a bug that ``load_query`` reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from tokenyard.analytics.client import AnalyticsClient
from tokenyard.errors import ConfigError, InvalidRequest

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PARAM_LINE = re.compile(
    r"^--\s*param\s+(?P<name>\w+)\s+(?P<type>[^=:]+?(?:\([^)]*\))?)\s*(?:=\s*(?P<default>[^:]*?))?\s*:\s*(?P<doc>.*)$"
)
_PLACEHOLDER = re.compile(r"\{(\w+):([^}]+)\}")


@dataclass(frozen=True)
class QueryParam:
    name: str
    type: str
    doc: str
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class NamedQuery:
    name: str
    answers: str
    params: tuple[QueryParam, ...]
    sql: str

    @property
    def param_names(self) -> set[str]:
        return {param.name for param in self.params}

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """ClickHouse parameters for ``values``: defaults filled, types checked.

        Raises ``InvalidRequest`` naming an unknown, missing or unreadable parameter.
        """
        known = {param.name: param for param in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InvalidRequest(
                f"query {self.name!r} has no parameter {', '.join(unknown)};"
                f" it takes {', '.join(known) or 'none'}"
            )
        bound: dict[str, Any] = {}
        for param in self.params:
            if param.name in values and values[param.name] is not None:
                raw = values[param.name]
            elif param.default is not None:
                raw = param.default
            else:
                raise InvalidRequest(f"query {self.name!r} needs parameter {param.name!r}")
            bound[param.name] = _convert(self.name, param, raw)
        return bound


def query_names() -> list[str]:
    folder = resources.files("tokenyard.analytics").joinpath("queries")
    return sorted(
        entry.name.removesuffix(".sql") for entry in folder.iterdir() if entry.name.endswith(".sql")
    )


def load_query(name: str) -> NamedQuery:
    """The named query; ``InvalidRequest`` for a name that is not one."""
    if not _NAME.match(name) or name not in query_names():
        raise InvalidRequest(
            f"no analytics query named {name!r}; known: {', '.join(query_names())}"
        )
    text = resources.files("tokenyard.analytics").joinpath("queries", f"{name}.sql").read_text()
    return parse_query(name, text)


def parse_query(name: str, text: str) -> NamedQuery:
    answers: list[str] = []
    params: list[QueryParam] = []
    body: list[str] = []
    in_header = True
    for line in text.splitlines():
        if in_header and line.startswith("--"):
            match = _PARAM_LINE.match(line)
            if match:
                default = match.group("default")
                params.append(
                    QueryParam(
                        match.group("name"),
                        match.group("type").strip(),
                        match.group("doc").strip(),
                        _unquote(default.strip()) if default is not None else None,
                    )
                )
            else:
                answers.append(line.lstrip("-").strip().removeprefix("answers:").strip())
            continue
        in_header = False
        body.append(line)
    sql = "\n".join(body).strip().rstrip(";")
    used = {found[0]: found[1].strip() for found in _PLACEHOLDER.findall(sql)}
    declared = {param.name: param.type for param in params}
    if used != declared or not answers:
        raise ConfigError(
            f"query {name!r}: header declares {declared} but the body uses {used}"
            if answers
            else f"query {name!r} has no 'answers:' header"
        )
    return NamedQuery(name, " ".join(part for part in answers if part), tuple(params), sql)


def run_query(
    client: AnalyticsClient, name: str, params: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows of the named query as dicts (Decimal, datetime and date values kept)."""
    query = load_query(name)
    return client.query_rows(query.sql, query.bind(params or {}))


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant (naive means UTC), for parameters and ``--since``."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRequest(f"{text!r} is not an ISO-8601 date or time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _convert(query: str, param: QueryParam, raw: Any) -> Any:
    kind = param.type.split("(")[0]
    try:
        if kind == "DateTime64":
            instant = raw if isinstance(raw, datetime) else parse_instant(str(raw))
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=UTC)
            # Sent as text in UTC with milliseconds: the parameter's type names UTC,
            # and a datetime object would lose its sub-second part on some paths.
            return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        if kind.startswith("UInt") or kind.startswith("Int"):
            number = int(raw)
            if kind.startswith("UInt") and number < 0:
                raise ValueError("must be >= 0")
            return number
        if kind == "String":
            return str(raw)
    except (ValueError, TypeError, InvalidRequest) as exc:
        raise InvalidRequest(
            f"query {query!r}: parameter {param.name!r} ({param.type}): {exc}"
        ) from exc
    raise ConfigError(f"query {query!r}: parameter type {param.type} is not supported")


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
