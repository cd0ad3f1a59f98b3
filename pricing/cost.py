"""Exact cost of one provider call, from the usage the provider reported.

Usage semantics (tokenyard-wide; provider transforms must produce these):

* ``input_tokens`` counts **every** prompt token, cache hits included. This is
  OpenAI's ``prompt_tokens``. Anthropic reports cache reads apart
  (``input_tokens`` excludes ``cache_read_input_tokens`` and
  ``cache_creation_input_tokens``), so its transform adds them into ``input_tokens``.
* ``cached_input_tokens`` is the part of ``input_tokens`` served from the provider's
  prompt cache (OpenAI ``prompt_tokens_details.cached_tokens``, Anthropic
  ``cache_read_input_tokens``); it is a subset, never added on top.
* ``output_tokens`` counts every completion token, reasoning included (OpenAI's
  ``completion_tokens`` already includes ``reasoning_tokens``).
* ``reasoning_tokens`` is the part of ``output_tokens`` spent on hidden reasoning.

So a cached token is charged once, at the cached rate, and a reasoning token once,
at the reasoning rate when the model has one, else at the output rate.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from tokenyard.pricing.table import Price
from tokenyard.schemas.records import Usage

TOKENS_PER_PRICE_UNIT = Decimal(1_000_000)


def compute_cost(usage: Usage, price: Price) -> Decimal:
    """USD for ``usage`` at ``price``, exact (no rounding, no float).

    Raises ``ValueError`` when the usage contradicts its own semantics (more cached
    than input tokens, more reasoning than output tokens): billing such numbers
    would silently over- or under-charge.
    """
    if usage.cached_input_tokens > usage.input_tokens:
        raise ValueError(
            f"cached_input_tokens ({usage.cached_input_tokens}) exceed input_tokens "
            f"({usage.input_tokens}); input_tokens must include cache hits"
        )
    if usage.reasoning_tokens > usage.output_tokens:
        raise ValueError(
            f"reasoning_tokens ({usage.reasoning_tokens}) exceed output_tokens "
            f"({usage.output_tokens}); output_tokens must include reasoning"
        )
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    reasoning_rate = price.reasoning if price.reasoning is not None else price.output
    uncached_input = usage.input_tokens - usage.cached_input_tokens
    visible_output = usage.output_tokens - usage.reasoning_tokens
    # Token counts are integers and rates short decimals, so a wide context makes
    # every product and the division exact.
    with localcontext() as ctx:
        ctx.prec = 60
        micro_usd = (
            uncached_input * price.input
            + usage.cached_input_tokens * cached_rate
            + visible_output * price.output
            + usage.reasoning_tokens * reasoning_rate
        )
        return micro_usd / TOKENS_PER_PRICE_UNIT


def cost_or_unknown(usage: Usage, price: Price | None) -> Decimal | None:
    """``None`` when there is no price: the caller flags ``cost_unknown``, never $0."""
    return None if price is None else compute_cost(usage, price)
