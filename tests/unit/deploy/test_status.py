"""`tokenyard status`: judging observations, and reading /metrics text."""

from __future__ import annotations

from dataclasses import replace

from tokenyard.streams.cli.status import GroupView, HttpProbe, Observations, Scrape, assess, parse_samples


def healthy() -> Observations:
    return Observations(
        bootstrap="127.0.0.1:9092",
        broker_error=None,
        topics={"ty.requests": 4, "ty.deferred": 4, "ty.usage": 2},
        expected_topics=("ty.requests", "ty.deferred", "ty.usage"),
        groups=(
            GroupView("ty-worker", "worker", True, 2, {("ty.requests", 0): 5, ("ty.requests", 1): None},
                      {("ty.requests", 0): 7, ("ty.requests", 1): 3}),
        ),
        sink=HttpProbe("usage sink", "http://127.0.0.1:6067", True, "HTTP 404"),
        frontdoor=None,
        scrapes=(Scrape("worker", "http://127.0.0.1:9464", True, breakers={"openai:gpt": 0}),),
    )


def statuses(obs: Observations, max_lag: int = 100) -> dict[str, str]:
    return {c.name: c.status for c in assess(obs, max_lag=max_lag).checks}


def test_a_healthy_stack_exits_0_and_counts_lag_from_high_watermarks() -> None:
    report = assess(healthy(), max_lag=100)
    assert report.healthy and report.exit_code == 0
    group = report.to_json()["groups"][0]
    # committed 5 of 7, and nothing committed of 3 (counted from 0)
    assert group["lag_total"] == 2 + 3
    assert statuses(healthy())["front door"] == "skipped"


def test_lag_above_the_limit_is_degraded() -> None:
    report = assess(healthy(), max_lag=4)
    assert not report.healthy and report.exit_code == 1
    assert "lag 5 > 4" in next(c.detail for c in report.checks if c.name == "group ty-worker")


def test_an_unknown_high_watermark_is_reported_not_counted() -> None:
    group = replace(healthy().groups[0], highwater={("ty.requests", 0): 7})
    report = assess(replace(healthy(), groups=(group,)), max_lag=100)
    assert report.healthy
    assert "lag 2 (1 partitions unknown)" in next(c.detail for c in report.checks if c.name == "group ty-worker")


def test_each_failure_degrades_the_stack() -> None:
    base = healthy()
    cases = {
        "broker": replace(base, broker_error="KafkaConnectionError"),
        "topics": replace(base, topics={"ty.requests": 4}),
        "group ty-worker": replace(base, groups=(replace(base.groups[0], members=0),)),
        "usage sink": replace(base, sink=HttpProbe("usage sink", "http://x", False, "unreachable")),
        "front door": replace(base, frontdoor=HttpProbe("front door", "http://x", False, "HTTP 503")),
        "worker http://127.0.0.1:9464": replace(base, scrapes=(replace(base.scrapes[0], breakers={"openai:gpt": 2}),)),
    }
    for name, obs in cases.items():
        report = assess(obs, max_lag=100)
        assert report.exit_code == 1, name
        assert statuses(obs)[name] == "degraded", name


def test_a_half_open_breaker_is_not_degraded_and_json_names_states() -> None:
    obs = replace(healthy(), scrapes=(replace(healthy().scrapes[0], breakers={"a:m": 1, "b:m": 0}),))
    report = assess(obs, max_lag=100)
    assert report.healthy
    assert report.to_json()["endpoints"][0]["breakers"] == {"a:m": "half_open", "b:m": "closed"}


def test_no_metrics_endpoint_is_skipped_not_degraded() -> None:
    assert statuses(replace(healthy(), scrapes=()))["metrics"] == "skipped"


def test_parse_samples_reads_labels_and_values() -> None:
    text = (
        "# HELP tokenyard_breaker_state x\n# TYPE tokenyard_breaker_state gauge\n"
        'tokenyard_breaker_state{target="openai:gpt-4o"} 2\n'
        'tokenyard_breaker_state{target="we\\"ird"} 0\n'
        'tokenyard_breaker_state_other{target="x"} 1\n'
        "process_cpu_seconds_total 1.5\n"
        "tokenyard_breaker_state{target=\"bad\"} notanumber\n"
    )
    assert parse_samples(text, "tokenyard_breaker_state") == [
        ({"target": "openai:gpt-4o"}, 2.0), ({"target": 'we"ird'}, 0.0),
    ]
    assert parse_samples(text, "process_cpu_seconds_total") == [({}, 1.5)]
