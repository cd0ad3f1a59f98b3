from __future__ import annotations

import pytest

from tokenyard.streams.metrics import Metrics


def test_counter_renders_the_text_format_sorted_by_labels() -> None:
    metrics = Metrics()
    requests = metrics.counter("tokenyard_requests_total", "Requests served.", ["route", "outcome"])
    requests.inc(route="default", outcome="ok")
    requests.inc(2, route="default", outcome="ok")
    requests.inc(route="broken", outcome="all_targets_failed")
    assert metrics.render() == (
        "# HELP tokenyard_requests_total Requests served.\n"
        "# TYPE tokenyard_requests_total counter\n"
        'tokenyard_requests_total{route="broken",outcome="all_targets_failed"} 1\n'
        'tokenyard_requests_total{route="default",outcome="ok"} 3\n'
    )


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    metrics = Metrics()
    latency = metrics.histogram("lat_seconds", "Latency.", ["route"], buckets=[0.1, 1.0])
    for value in (0.05, 0.5, 0.5, 7.0):
        latency.observe(value, route="r")
    assert metrics.render().splitlines()[2:] == [
        'lat_seconds_bucket{route="r",le="0.1"} 1',
        'lat_seconds_bucket{route="r",le="1"} 3',
        'lat_seconds_bucket{route="r",le="+Inf"} 4',
        'lat_seconds_sum{route="r"} 8.05',
        'lat_seconds_count{route="r"} 4',
    ]
    assert latency.count(route="r") == 4


def test_a_metric_without_labels_shows_zero_before_any_update() -> None:
    metrics = Metrics()
    gauge = metrics.gauge("in_flight", "Now.")
    assert "in_flight 0\n" in metrics.render()
    with gauge.track():
        assert gauge.value() == 1
    assert gauge.value() == 0


def test_gauge_track_decrements_when_the_block_raises() -> None:
    gauge = Metrics().gauge("g", "G.")
    with pytest.raises(RuntimeError), gauge.track():
        raise RuntimeError("boom")
    assert gauge.value() == 0


def test_label_values_and_help_are_escaped() -> None:
    metrics = Metrics()
    metrics.counter("c_total", 'Line one\nback\\slash', ["v"]).inc(v='a"b\\c\nd')
    text = metrics.render()
    assert "# HELP c_total Line one\\nback\\\\slash\n" in text
    assert 'c_total{v="a\\"b\\\\c\\nd"} 1\n' in text


def test_bad_declarations_and_labels_are_refused() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="invalid metric name"):
        metrics.counter("bad-name", "x")
    with pytest.raises(ValueError, match="invalid label name"):
        metrics.counter("ok_total", "x", ["le"])
    counter = metrics.counter("ok_total", "x", ["route"])
    with pytest.raises(ValueError, match="already registered"):
        metrics.counter("ok_total", "x")
    with pytest.raises(ValueError, match=r"takes labels \['route'\]"):
        counter.inc(model="gpt")
    with pytest.raises(ValueError, match="cannot decrease"):
        counter.inc(-1, route="r")
    with pytest.raises(ValueError, match="distinct finite buckets"):
        metrics.histogram("h", "x", buckets=[1.0, 1.0])
