"""What a provider's response headers say about its rate limits, normalised.

Formats read (lower-cased header names; unknown or malformed values are
ignored, never fatal, because they only tune an estimate):

* ``retry-after``: delta-seconds (``"20"``, ``"1.5"``) or an HTTP-date
  (RFC 9110); ``retry-after-ms``: milliseconds (sent by OpenAI and Azure
  OpenAI, and preferred when present because it is more precise).
* OpenAI and OpenAI-compatible: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``.
  Limits and remaining are integers (Azure may send ``-1`` for "unknown");
  resets are Go-style durations until the bucket is full again: ``"1s"``,
  ``"6m0s"``, ``"12ms"``, ``"1h2m3.5s"``.
* Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}``.
  Resets are RFC 3339 timestamps (``2025-01-15T14:24:00Z``). Of the token
  families, the one with the smallest remaining fraction is reported, since it
  is the one that will bite first.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass

_GO_DURATION = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m(?!s))?"
    r"(?:(?P<s>\d+(?:\.\d+)?)s)?(?:(?P<ms>\d+(?:\.\d+)?)ms)?$"
)


@dataclass(frozen=True, slots=True)
class LimitReading:
    """One limit family as the provider reported it; ``reset_s`` is seconds from ``now``."""

    limit: float | None = None
    remaining: float | None = None
    reset_s: float | None = None

    @property
    def remaining_fraction(self) -> float | None:
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return max(0.0, self.remaining / self.limit)


@dataclass(frozen=True, slots=True)
class RateLimitSignal:
    retry_after_s: float | None = None
    requests: LimitReading | None = None
    tokens: LimitReading | None = None

    @property
    def exhausted_until_s(self) -> float | None:
        """Seconds until an exhausted family (remaining 0) resets, if one is exhausted."""
        waits = [
            reading.reset_s
            for reading in (self.requests, self.tokens)
            if reading is not None and reading.remaining == 0 and reading.reset_s is not None
        ]
        return max(waits) if waits else None

    @property
    def lowest_remaining_fraction(self) -> float | None:
        fractions = [
            f
            for f in (
                self.requests.remaining_fraction if self.requests else None,
                self.tokens.remaining_fraction if self.tokens else None,
            )
            if f is not None
        ]
        return min(fractions) if fractions else None


def parse_go_duration(text: str) -> float | None:
    """Seconds in an OpenAI reset value (``"6m0s"``, ``"12ms"``, ``"20"``), or None."""
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    match = _GO_DURATION.match(text)
    if match is None or not any(match.groupdict().values()):
        return None
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["h"] * 3600 + parts["m"] * 60 + parts["s"] + parts["ms"] / 1000


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait per ``retry-after-ms`` / ``retry-after``; ``headers`` keys lower-case."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, when.timestamp() - now)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def _rfc3339_seconds_from(value: str | None, now: float) -> float | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, when.timestamp() - now)


def _openai(headers: Mapping[str, str], family: str) -> LimitReading | None:
    reading = LimitReading(
        limit=_number(headers.get(f"x-ratelimit-limit-{family}")),
        remaining=_number(headers.get(f"x-ratelimit-remaining-{family}")),
        reset_s=parse_go_duration(headers.get(f"x-ratelimit-reset-{family}", "")),
    )
    return None if reading == LimitReading() else reading


def _anthropic(headers: Mapping[str, str], family: str, now: float) -> LimitReading | None:
    prefix = f"anthropic-ratelimit-{family}"
    reading = LimitReading(
        limit=_number(headers.get(f"{prefix}-limit")),
        remaining=_number(headers.get(f"{prefix}-remaining")),
        reset_s=_rfc3339_seconds_from(headers.get(f"{prefix}-reset"), now),
    )
    return None if reading == LimitReading() else reading


def _tightest(readings: list[LimitReading | None]) -> LimitReading | None:
    present = [r for r in readings if r is not None]
    if not present:
        return None
    return min(present, key=lambda r: 2.0 if r.remaining_fraction is None else r.remaining_fraction)


def parse_rate_limit_headers(headers: Mapping[str, str], now: float) -> RateLimitSignal:
    """Normalise OpenAI / Anthropic rate-limit headers (any case) as of ``now`` (epoch seconds)."""
    lower = {k.lower(): v for k, v in headers.items()}
    requests = _tightest([_openai(lower, "requests"), _anthropic(lower, "requests", now)])
    tokens = _tightest(
        [
            _openai(lower, "tokens"),
            _anthropic(lower, "tokens", now),
            _anthropic(lower, "input-tokens", now),
            _anthropic(lower, "output-tokens", now),
        ]
    )
    return RateLimitSignal(retry_after_s=parse_retry_after(lower, now), requests=requests, tokens=tokens)
