import pytest

from tokenyard.streams.bench.schedule import arrival_offsets, parse_rates


def test_fixed_arrivals_are_evenly_spaced():
    offsets = arrival_offsets(200, 2.0, arrivals="fixed")
    assert len(offsets) == 400
    assert offsets[0] == 0.0
    assert offsets[1] == pytest.approx(0.005)
    assert offsets[-1] < 2.0


def test_poisson_arrivals_are_ascending_within_duration_and_near_the_rate():
    offsets = arrival_offsets(1000, 10.0, arrivals="poisson", seed=7)
    assert offsets == sorted(offsets)
    assert all(0 < t < 10.0 for t in offsets)
    assert 9500 <= len(offsets) <= 10500
    gaps = [b - a for a, b in zip(offsets, offsets[1:])]
    # exponential gaps: many far shorter and some far longer than the mean
    assert min(gaps) < 0.0001 and max(gaps) > 0.005


def test_poisson_is_reproducible_by_seed_and_differs_across_seeds():
    assert arrival_offsets(50, 5, seed=1) == arrival_offsets(50, 5, seed=1)
    assert arrival_offsets(50, 5, seed=1) != arrival_offsets(50, 5, seed=2)


@pytest.mark.parametrize(("rate", "duration", "message"), [(0, 1, "rate"), (-5, 1, "rate"), (10, 0, "duration")])
def test_bad_rate_or_duration_is_refused(rate, duration, message):
    with pytest.raises(ValueError, match=message):
        arrival_offsets(rate, duration)


def test_unknown_arrival_process_is_refused():
    with pytest.raises(ValueError, match="poisson"):
        arrival_offsets(10, 1, arrivals="bursty")  # type: ignore[arg-type]


def test_parse_rates_accepts_k_suffix_and_spaces():
    assert parse_rates("50, 200,1k,1.5k") == [50.0, 200.0, 1000.0, 1500.0]


@pytest.mark.parametrize(("text", "message"), [("", "no rates"), ("50,abc", "not a rate"), ("0", "positive")])
def test_parse_rates_refuses_bad_input(text, message):
    with pytest.raises(ValueError, match=message):
        parse_rates(text)


def test_index_ranges_of_rates_and_warm_up_never_overlap():
    from tokenyard.streams.bench.measure import PhaseSpec, first_index_for

    ranges = []
    for rate in (50, 200, 500, 1000, 1000.5):
        spec = PhaseSpec(rate=rate, duration_s=60, warmup_s=10, first_index=first_index_for(rate))
        calls = int(rate * 60 * 2)
        ranges += [(spec.first_index, spec.first_index + calls), (spec.warmup_first_index, spec.warmup_first_index + calls)]
    ranges.sort()
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(ranges, ranges[1:]))
