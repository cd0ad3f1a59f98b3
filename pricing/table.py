"""The price table: shipped with the package, overridable from config.

Lookup order for a call to ``model`` on provider ``name`` of kind ``kind``:
config overrides, then the shipped table; in each, ``name/model``, ``kind/model``,
then bare ``model``; each first as given, then with a date or ``-latest`` suffix
removed (``claude-sonnet-4-20250514`` -> ``claude-sonnet-4``). No match means the
cost is unknown, which callers report as ``cost_unknown``, never as $0.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tokenyard.errors import ConfigError

SHIPPED_TABLE = "prices.toml"

_SNAPSHOT_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


class Price(BaseModel):
    """USD per 1,000,000 tokens; see :mod:`tokenyard.pricing.cost` for semantics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: Decimal = Field(ge=0)
    output: Decimal = Field(ge=0)
    cached_input: Decimal | None = Field(default=None, ge=0)
    reasoning: Decimal | None = Field(default=None, ge=0)
    source: str = Field(min_length=1)
    as_of: date


class PriceTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    prices: dict[str, Price] = Field(default_factory=dict)
    overrides: dict[str, Price] = Field(default_factory=dict)

    def lookup(self, provider: str, model: str, *, kind: str | None = None) -> Price | None:
        """The price of ``model`` served by provider ``provider`` (of ``kind``), or None."""
        for entries in (self.overrides, self.prices):
            for key in _candidate_keys(provider, kind, model):
                if key in entries:
                    return entries[key]
        return None

    def with_overrides(self, overrides: Mapping[str, Price | Mapping[str, Any]]) -> PriceTable:
        """A copy whose ``overrides`` win over every shipped entry."""
        parsed = {}
        for key, value in overrides.items():
            try:
                parsed[key] = Price.model_validate(value)
            except ValidationError as exc:
                raise ConfigError.from_validation(exc, f'prices."{key}"') from exc
        return self.model_copy(update={"overrides": {**self.overrides, **parsed}})


def _candidate_keys(provider: str, kind: str | None, model: str) -> list[str]:
    undated = _SNAPSHOT_SUFFIX.sub("", model)
    names = [model] if undated == model else [model, undated]
    prefixes = [provider] + ([kind] if kind and kind != provider else [])
    keys = [f"{prefix}/{name}" for name in names for prefix in prefixes]
    return keys + names


def parse_price_table(text: str) -> PriceTable:
    """A table from TOML text (rates as strings or numbers, read as exact decimals)."""
    try:
        raw = tomllib.loads(text, parse_float=Decimal)
        return PriceTable.model_validate(raw)
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"invalid price table: {exc}") from exc


def load_shipped_prices() -> PriceTable:
    """The table shipped in this package (read on each call; callers keep it)."""
    text = resources.files("tokenyard.pricing").joinpath(SHIPPED_TABLE).read_text("utf-8")
    return parse_price_table(text)
