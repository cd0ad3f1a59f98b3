from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenyard.errors import ConfigError
from tokenyard.pricing import (
    Price,
    compute_cost,
    cost_or_unknown,
    load_shipped_prices,
    parse_price_table,
)
from tokenyard.schemas.records import Usage


def price(input="2.50", output="10.00", cached=None, reasoning=None) -> Price:
    return Price(
        input=Decimal(input),
        output=Decimal(output),
        cached_input=None if cached is None else Decimal(cached),
        reasoning=None if reasoning is None else Decimal(reasoning),
        source="test",
        as_of=date(2025, 8, 15),
    )


def test_cached_tokens_are_charged_once_at_the_cached_rate():
    usage = Usage(input_tokens=1234, cached_input_tokens=1000, output_tokens=77)
    # 234 uncached * 2.50 + 1000 cached * 1.25 + 77 * 10.00, per million tokens
    assert compute_cost(usage, price(cached="1.25")) == Decimal("0.002605")


def test_cached_tokens_without_a_cached_rate_are_charged_as_input():
    usage = Usage(input_tokens=1000, cached_input_tokens=400, output_tokens=0)
    assert compute_cost(usage, price()) == Decimal("0.0025")


def test_reasoning_tokens_use_their_own_rate_only_when_priced():
    usage = Usage(input_tokens=0, output_tokens=1000, reasoning_tokens=600)
    assert compute_cost(usage, price()) == Decimal("0.01")
    # 400 visible * 10 + 600 reasoning * 20
    assert compute_cost(usage, price(reasoning="20")) == Decimal("0.016")


def test_cost_is_exact_where_float_would_drift():
    usage = Usage(input_tokens=3, output_tokens=0)
    cost = compute_cost(usage, price(input="0.1"))
    assert cost == Decimal("0.0000003")
    assert isinstance(cost, Decimal)
    ten_calls = sum((compute_cost(usage, price(input="0.1")) for _ in range(10)), Decimal(0))
    assert ten_calls == Decimal("0.000003")


@given(
    uncached=st.integers(0, 10**7),
    cached=st.integers(0, 10**7),
    visible=st.integers(0, 10**6),
    reasoning=st.integers(0, 10**6),
    rates=st.tuples(*[st.decimals("0", "200", places=4) for _ in range(4)]),
)
def test_cost_equals_the_sum_of_its_parts(uncached, cached, visible, reasoning, rates):
    rate_in, rate_cached, rate_out, rate_reasoning = rates
    p = Price(
        input=rate_in,
        output=rate_out,
        cached_input=rate_cached,
        reasoning=rate_reasoning,
        source="t",
        as_of=date(2025, 1, 1),
    )
    usage = Usage(
        input_tokens=uncached + cached,
        cached_input_tokens=cached,
        output_tokens=visible + reasoning,
        reasoning_tokens=reasoning,
    )
    expected = (
        uncached * rate_in + cached * rate_cached + visible * rate_out + reasoning * rate_reasoning
    ) / Decimal(1_000_000)
    assert compute_cost(usage, p) == expected
    # Exact: scaling back gives the integer-times-rate sum with no remainder.
    assert compute_cost(usage, p) * 1_000_000 == (
        uncached * rate_in + cached * rate_cached + visible * rate_out + reasoning * rate_reasoning
    )


def test_inconsistent_usage_is_refused_not_billed():
    with pytest.raises(ValueError, match="cached_input_tokens"):
        compute_cost(Usage(input_tokens=10, cached_input_tokens=11), price())
    with pytest.raises(ValueError, match="reasoning_tokens"):
        compute_cost(Usage(output_tokens=1, reasoning_tokens=2), price())


def test_no_price_means_unknown_not_zero():
    assert cost_or_unknown(Usage(input_tokens=5), None) is None
    assert cost_or_unknown(Usage(), price()) == Decimal(0)


def test_shipped_table_prices_common_models_with_source_and_date():
    table = load_shipped_prices()
    for provider, model in [
        ("openai", "gpt-4o"),
        ("openai", "gpt-4o-mini"),
        ("openai", "gpt-4.1"),
        ("openai", "gpt-4.1-mini"),
        ("openai", "o3"),
        ("openai", "o4-mini"),
        ("anthropic", "claude-sonnet-4-20250514"),
        ("anthropic", "claude-3-5-haiku-latest"),
        ("anthropic", "claude-opus-4-20250514"),
    ]:
        found = table.lookup(provider, model)
        assert found is not None, (provider, model)
        assert found.source.startswith("https://")
        assert found.output > found.input > 0
        assert found.cached_input is not None and found.cached_input < found.input
    assert table.lookup("openai", "gpt-4o-mini").input == Decimal("0.15")
    assert table.lookup("anthropic", "claude-sonnet-4-20250514").cached_input == Decimal("0.30")


def test_lookup_by_kind_and_snapshot_and_unknown_model():
    table = load_shipped_prices()
    # A provider named "openai-eu" of kind "openai" uses the openai entries.
    assert table.lookup("openai-eu", "gpt-4o-2024-08-06", kind="openai") == table.lookup(
        "openai", "gpt-4o"
    )
    assert table.lookup("openai-eu", "gpt-4o") is None  # kind unknown: no guess
    assert table.lookup("openai", "gpt-4o-mini-unreleased") is None
    assert table.lookup("vllm", "my-finetune", kind="openai_compatible") is None


def test_overrides_win_and_bare_model_names_match_any_provider():
    table = load_shipped_prices().with_overrides(
        {
            "openai/gpt-4o": {"input": "1", "output": "2", "source": "contract", "as_of": "2025-09-01"},
            "llama3:8b": {"input": "0", "output": "0", "source": "self-hosted", "as_of": "2025-09-01"},
        }
    )
    assert table.lookup("openai", "gpt-4o").input == Decimal("1")
    assert table.lookup("ollama", "llama3:8b", kind="openai_compatible").output == Decimal(0)
    assert table.lookup("openai", "gpt-4o-mini").input == Decimal("0.15")


def test_bad_override_names_the_field():
    with pytest.raises(ConfigError, match="as_of"):
        load_shipped_prices().with_overrides({"x/y": {"input": "1", "output": "2", "source": "s"}})
    with pytest.raises(ConfigError, match="inptu"):
        load_shipped_prices().with_overrides(
            {"x/y": {"inptu": "1", "output": "2", "source": "s", "as_of": "2025-01-01"}}
        )


def test_bad_table_text_is_a_config_error():
    with pytest.raises(ConfigError):
        parse_price_table("version = \n")
    with pytest.raises(ConfigError, match="output"):
        parse_price_table(
            'version = "1"\n[prices."a/b"]\ninput = "1"\nsource = "s"\nas_of = 2025-01-01\n'
        )
    table = parse_price_table('version = "1"\n[prices."a/b"]\ninput = 0.1\noutput = 0.3\nsource = "s"\nas_of = 2025-01-01\n')
    assert table.lookup("a", "b").input == Decimal("0.1")
