import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tokenyard.errors import ProviderRateLimited, ProviderServerError
from tokenyard.providers.retry import backoff_ceiling, fits_before_deadline, retry_delay
from tokenyard.providers.routing_config import RetryConfig

CONFIG = RetryConfig(base_delay_s=0.25, max_delay_s=4.0, retry_after_cap_s=10.0, min_attempt_s=0.5)


def test_backoff_doubles_up_to_the_cap():
    assert [backoff_ceiling(n, CONFIG) for n in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert backoff_ceiling(10_000, CONFIG) == 4.0


@given(n=st.integers(0, 1000), r=st.floats(0, 1, exclude_max=True))
def test_full_jitter_stays_within_zero_and_the_ceiling(n, r):
    delay = retry_delay(ProviderServerError("boom"), n, CONFIG, lambda: r)
    assert 0 <= delay <= backoff_ceiling(n, CONFIG)
    assert delay == pytest.approx(r * backoff_ceiling(n, CONFIG))


def test_without_jitter_the_delay_is_the_ceiling():
    config = CONFIG.model_copy(update={"jitter": False})
    assert retry_delay(ProviderServerError("x"), 2, config, lambda: 0.0) == 1.0


@given(retry_after=st.floats(0, 10), r=st.floats(0, 1, exclude_max=True), n=st.integers(0, 10))
def test_retry_after_is_waited_at_least(retry_after, r, n):
    delay = retry_delay(ProviderRateLimited("429", retry_after=retry_after), n, CONFIG, lambda: r)
    assert delay >= retry_after
    assert delay <= max(retry_after, backoff_ceiling(n, CONFIG))


def test_retry_after_over_the_cap_means_no_retry_here():
    error = ProviderRateLimited("429", retry_after=10.5)
    assert retry_delay(error, 0, CONFIG, lambda: 0.5) is None


def test_deadline_check_keeps_time_for_the_call():
    assert fits_before_deadline(now=100.0, delay=1.0, deadline=101.5, config=CONFIG)
    assert not fits_before_deadline(now=100.0, delay=1.0, deadline=101.49, config=CONFIG)


def test_bad_retry_config_names_the_field():
    with pytest.raises(ValidationError, match="base_delay_s"):
        RetryConfig(base_delay_s=5, max_delay_s=1)
    with pytest.raises(ValidationError, match="max_attemps"):
        RetryConfig.model_validate({"max_attemps": 3})
