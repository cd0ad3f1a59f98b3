"""Exact, versioned LLM pricing: the price table and the pure cost function."""

from tokenyard.pricing.cost import compute_cost, cost_or_unknown
from tokenyard.pricing.table import Price, PriceTable, load_shipped_prices, parse_price_table

__all__ = [
    "Price",
    "PriceTable",
    "compute_cost",
    "cost_or_unknown",
    "load_shipped_prices",
    "parse_price_table",
]
