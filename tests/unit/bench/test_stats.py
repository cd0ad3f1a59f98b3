import pytest

from tokenyard.streams.bench.stats import difference, percentile, summarize


def test_percentile_is_nearest_rank_of_observed_values():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1


def test_percentile_of_few_samples_is_the_max_for_high_ranks():
    assert percentile([3.0, 7.0, 9.0], 99) == 9.0
    assert percentile([3.0, 7.0, 9.0], 50) == 7.0


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_out_of_range_is_refused(q):
    with pytest.raises(ValueError, match="within 0..100"):
        percentile([1.0], q)


def test_percentile_of_nothing_is_refused():
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_summarize_sorts_and_reports_tail():
    summary = summarize([5.0, 1.0, 100.0, 2.0] + [3.0] * 96)
    assert summary.count == 100
    assert summary.p50_ms == 3.0
    assert summary.p99_ms == 5.0
    assert summary.max_ms == 100.0
    assert summary.mean_ms == pytest.approx((5 + 1 + 100 + 2 + 3 * 96) / 100)


def test_summarize_of_nothing_has_no_figures():
    summary = summarize([])
    assert summary.count == 0
    assert summary.p99_ms is None and summary.max_ms is None
    assert summary.as_dict()["p50_ms"] is None


def test_difference_needs_both_sides():
    assert difference(12.5, 2.5) == 10.0
    assert difference(None, 2.0) is None
    assert difference(2.0, None) is None
