"""When to retry a failed call on the same target, and after how long.

Pure: the caller passes the random source and the clock readings. Backoff is
exponential with full jitter (uniform in ``[0, min(max_delay, base * 2**n)]``) so
many gateways retrying one provider spread out instead of arriving together. A
provider's Retry-After is honoured: the wait is at least that long, and when it is
longer than ``retry_after_cap_s`` the call is not retried here at all (the loop
falls through to the next target instead of hammering this one early).
"""

from __future__ import annotations

from collections.abc import Callable

from tokenyard.errors import ProviderError
from tokenyard.providers.routing_config import RetryConfig


def backoff_ceiling(retry_number: int, config: RetryConfig) -> float:
    """Upper bound of the ``retry_number``-th (0-based) wait, before jitter."""
    # Cap the exponent so a large retry number cannot overflow a float.
    return min(config.max_delay_s, config.base_delay_s * 2.0 ** min(retry_number, 60))


def retry_delay(
    error: ProviderError,
    retry_number: int,
    config: RetryConfig,
    random: Callable[[], float],
) -> float | None:
    """Seconds to wait before retrying after ``error``, or None: do not retry here.

    ``random`` returns a float in ``[0, 1)``.
    """
    ceiling = backoff_ceiling(retry_number, config)
    delay = ceiling * random() if config.jitter else ceiling
    if error.retry_after is not None:
        if error.retry_after > config.retry_after_cap_s:
            return None
        delay = max(delay, error.retry_after)
    return delay


def fits_before_deadline(now: float, delay: float, deadline: float, config: RetryConfig) -> bool:
    """Whether a call started after ``delay`` still has ``min_attempt_s`` to run."""
    return now + delay + config.min_attempt_s <= deadline
