"""The wire form of provider-account quota: lease messages and the owner's ledger snapshots.

Two topics carry quota traffic (see :mod:`tokenyard.admission.accounts` for
why leases):

* ``<prefix>.quota`` (keyed by account, read by the account's owner):
  :class:`~tokenyard.admission.accounts.LeaseRequest`,
  :class:`~tokenyard.admission.accounts.LeaseReturn` and :class:`RateReport`
  (a worker saw the provider refuse, 429 / Retry-After, or report little
  left in its rate-limit headers);
* ``<prefix>.quota-grants`` (read by every worker, each keeping what is
  addressed to it): :class:`~tokenyard.admission.accounts.Lease`,
  :class:`~tokenyard.admission.accounts.LeaseDenied` and :class:`RateUpdate`
  (the owner's adaptive rate after a cut or pause, for every worker).

Every message is one JSON object with a ``type``. :func:`decode` raises
``ValueError`` naming what is wrong, so the agents can skip a bad record
instead of stopping.

The owner persists a :func:`ledger_snapshot` of an account *before* it sends
the answer the new ledger implies (write-ahead): a rebuilt ledger has then
granted at least every lease a worker can hold, so an owner restart never
hands out a window's quota twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import orjson

from tokenyard.admission.accounts import Lease, LeaseDenied, LeaseLedger, LeaseRequest, LeaseReturn, OpenLease
from tokenyard.admission.adaptive import AdaptiveRate
from tokenyard.admission.config import AccountLimits, AimdPolicy

BROADCAST = "*"


@dataclass(frozen=True, slots=True)
class RateReport:
    """A worker's provider call on ``account`` answered ``status`` (with a Retry-After),
    or said in its rate-limit headers that little is left: ``remaining_fraction`` of
    the tightest limit, and ``reset_s`` (from ``at``) when that limit is exhausted."""

    account: str
    worker_id: str
    status: int
    retry_after_s: float | None
    at: float
    remaining_fraction: float | None = None
    reset_s: float | None = None


@dataclass(frozen=True, slots=True)
class RateUpdate:
    """The owner's adaptive rate of ``account`` after a cut or a pause; for every worker."""

    account: str
    factor: float
    updated_at: float
    paused_until: float
    last_cut_at: float | None
    worker_id: str = BROADCAST


QuotaMessage = LeaseRequest | LeaseReturn | RateReport
GrantMessage = Lease | LeaseDenied | RateUpdate

_TYPES: Mapping[str, type] = {
    "lease_request": LeaseRequest,
    "lease_return": LeaseReturn,
    "rate_report": RateReport,
    "lease": Lease,
    "lease_denied": LeaseDenied,
    "rate_update": RateUpdate,
}
_NAMES: Mapping[type, str] = {cls: name for name, cls in _TYPES.items()}


def encode(message: QuotaMessage | GrantMessage) -> bytes:
    values = {f.name: getattr(message, f.name) for f in fields(message)}
    if isinstance(message, LeaseReturn):
        values["lease_ids"] = list(message.lease_ids)
    return orjson.dumps({"type": _NAMES[type(message)], **values})


def decode(raw: bytes | None) -> QuotaMessage | GrantMessage:
    """One quota-topic or grants-topic record; ``ValueError`` if it is not one."""
    if not raw:
        raise ValueError("empty quota record")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"quota record is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("quota record is not a JSON object")
    kind = data.pop("type", None)
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown quota record type {kind!r}; expected one of {sorted(_TYPES)}")
    if cls is LeaseReturn and isinstance(data.get("lease_ids"), list):
        data["lease_ids"] = tuple(data["lease_ids"])
    try:
        return cls(**data)
    except TypeError as exc:
        raise ValueError(f"bad {kind} record: {exc}") from exc


def ledger_snapshot(version: int, ledger: LeaseLedger, rate: AdaptiveRate) -> bytes:
    """One account's ledger and adaptive rate as a versioned state record."""
    return orjson.dumps({
        "version": version,
        "ledger": {
            "window": ledger.window,
            "granted_requests": ledger.granted_requests,
            "granted_tokens": ledger.granted_tokens,
            "overused_requests": ledger.overused_requests,
            "overused_tokens": ledger.overused_tokens,
            "sequence": ledger.sequence,
            "open_leases": {
                lease_id: [lease.worker_id, lease.requests, lease.tokens]
                for lease_id, lease in ledger.open_leases.items()
            },
        },
        "rate": rate.to_dict(),
    })


def restore_ledger(
    record: Mapping[str, Any], account: str, limits: AccountLimits, policy: AimdPolicy
) -> tuple[int, LeaseLedger, AdaptiveRate]:
    """Inverse of :func:`ledger_snapshot`; the limits come from today's config, the
    counters from the record (a limit changed between restarts applies at once)."""
    saved = record["ledger"]
    ledger = replace(
        LeaseLedger.for_account(account, limits),
        window=int(saved["window"]),
        granted_requests=float(saved["granted_requests"]),
        granted_tokens=float(saved["granted_tokens"]),
        overused_requests=float(saved["overused_requests"]),
        overused_tokens=float(saved["overused_tokens"]),
        sequence=int(saved["sequence"]),
        open_leases={
            lease_id: OpenLease(str(worker), float(requests), float(tokens))
            for lease_id, (worker, requests, tokens) in saved["open_leases"].items()
        },
    )
    return int(record["version"]), ledger, AdaptiveRate.from_dict(record["rate"], policy)
