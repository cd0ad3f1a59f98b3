"""Admission settings: tenant limits, budgets and provider-account limits.

Frozen pydantic models with ``extra="forbid"``, so a misspelt key in the TOML
file fails with a message naming it. The ``[admission]`` table of the gateway's
config maps onto :class:`AdmissionConfig`::

    [admission]
    default_max_tokens = 1024     # output estimate when a request sets no max_tokens
    aging_s = 30                  # a waiting request climbs one priority class per aging_s

    [admission.default_tenant]    # any tenant not listed below
    rpm = 60
    tpm = 60000

    [admission.tenants.acme]
    rpm = 600
    tpm = 400000
    over_limit = "reject"         # or "defer" (the default)
    priority = "high"             # used when a request does not say otherwise
    weight = 2.0                  # share of a contended provider account
    daily = { soft_usd = "40", hard_usd = "50" }
    monthly = { hard_usd = "1000" }
    routes."gpt-4o" = { rpm = 100, tpm = 100000 }

    [admission.accounts.openai-main]   # one provider API key
    rpm = 5000
    tpm = 2000000

A limit left out (``None``) is not enforced.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenyard.errors import ConfigError
from tokenyard.schemas.records import Priority


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RouteLimits(_Config):
    """Per tenant+route limits, on top of the tenant's own."""

    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)


class SpendLimit(_Config):
    """USD spend in one UTC calendar window: soft warns, hard rejects."""

    soft_usd: Decimal | None = Field(default=None, gt=0)
    hard_usd: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _soft_below_hard(self) -> SpendLimit:
        if self.soft_usd is not None and self.hard_usd is not None and self.soft_usd > self.hard_usd:
            raise ValueError(f"soft_usd {self.soft_usd} is above hard_usd {self.hard_usd}")
        return self


class TenantLimits(_Config):
    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    routes: dict[str, RouteLimits] = Field(default_factory=dict)
    over_limit: Literal["defer", "reject"] = "defer"
    daily: SpendLimit = SpendLimit()
    monthly: SpendLimit = SpendLimit()
    priority: Priority = Priority.normal
    weight: float = Field(default=1.0, gt=0, le=1000)


class AccountLimits(_Config):
    """One provider account's published limits, shared by every tenant and worker.

    ``lease_fraction`` is the largest share of one window's quota a single lease
    may carry, so one busy worker cannot hold the whole window while others wait.
    """

    rpm: int | None = Field(default=None, gt=0)
    tpm: int | None = Field(default=None, gt=0)
    window_s: float = Field(default=60.0, gt=0, le=3600)
    lease_fraction: float = Field(default=0.1, gt=0, le=1)


class AimdPolicy(_Config):
    """How a provider account's admitted rate reacts to the provider's signals."""

    decrease_factor: float = Field(default=0.5, gt=0, lt=1)
    increase_per_s: float = Field(default=0.02, gt=0, le=1)
    floor: float = Field(default=0.05, gt=0, le=1)
    # In-flight requests that were sent before the cut answer 429 too; one cut
    # per cooldown keeps a burst of them from collapsing the rate to the floor.
    cut_cooldown_s: float = Field(default=2.0, ge=0)
    # Below this fraction of the provider's limit remaining, cut pre-emptively.
    low_remaining_fraction: float = Field(default=0.05, ge=0, lt=1)
    max_pause_s: float = Field(default=300.0, gt=0)


class AdmissionConfig(_Config):
    default_tenant: TenantLimits = TenantLimits()
    tenants: dict[str, TenantLimits] = Field(default_factory=dict)
    accounts: dict[str, AccountLimits] = Field(default_factory=dict)
    aimd: AimdPolicy = AimdPolicy()
    default_max_tokens: int = Field(default=1024, gt=0)
    aging_s: float = Field(default=30.0, gt=0)
    # How long a deferred request waits before asking again when the only thing
    # missing is an account lease that is on its way.
    lease_retry_s: float = Field(default=0.25, gt=0)
    # A request admitted closer than this to its deadline would be skipped by the
    # provider layer (routes' retry.min_attempt_s) after taking quota: refuse it
    # with deadline_exceeded instead.
    min_time_to_deadline_s: float = Field(default=0.5, ge=0)

    def tenant(self, name: str) -> TenantLimits:
        """The tenant's limits; unknown tenants get ``default_tenant``."""
        return self.tenants.get(name, self.default_tenant)

    def account(self, name: str) -> AccountLimits | None:
        return self.accounts.get(name)

    @classmethod
    def parse(cls, data: object) -> AdmissionConfig:
        """Validate a decoded ``[admission]`` table; errors become :class:`ConfigError`."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError.from_validation(exc, "admission") from exc
