from collections import Counter

import orjson
import pytest

from tokenyard.streams.bench.cpu import OTHERS, Usage
from tokenyard.streams.bench.loadgen import LoadResult
from tokenyard.streams.bench.measure import LOADGEN
from tokenyard.streams.bench.results import (
    REQUIRED_ROW_KEYS,
    cost_table,
    document,
    latency_table,
    overhead_row,
    sustained,
    write_result,
)


def load(latencies, *, rate=100.0, duration=10.0, elapsed=10.0, lag=None, timeouts=0, errors=None):
    return LoadResult(
        offered_rps=rate, duration_s=duration, sent=len(latencies) + timeouts + sum((errors or {}).values()),
        latencies_ms=list(latencies), lag_ms=list(lag or [0.0] * len(latencies)),
        errors=Counter(errors or {}), timeouts=timeouts, elapsed_s=elapsed,
    )


def row_for(pipeline_ms, direct_ms, *, loadgen_cpu=1.0, elapsed=10.0, lag=None):
    pipeline = load(pipeline_ms, elapsed=elapsed, lag=lag)
    direct = load(direct_ms)
    usage = {"broker": Usage(2.0, 50.0), "worker-0": Usage(4.0, 120.0), LOADGEN: Usage(loadgen_cpu, 80.0),
             OTHERS: Usage(5.0, 0.0)}
    return overhead_row(100.0, pipeline, usage, direct, {"fake": Usage(0.5, 40.0), OTHERS: Usage(0.0, 0.0)})


def test_row_has_the_contract_keys_and_added_latency():
    row = row_for([20.0] * 99 + [50.0], [1.0] * 99 + [4.0])
    assert all(k in row for k in REQUIRED_ROW_KEYS)
    assert row["p99_ms"] == 20.0 and row["direct_p99_ms"] == 1.0
    assert row["added_p99_ms"] == 19.0
    assert row["added_p50_ms"] == 19.0
    assert row["max_ms"] == 50.0
    assert row["achieved_rps"] == 10.0


def test_row_reports_cpu_per_thousand_requests_per_process_and_worker_rss():
    row = row_for([10.0] * 1000, [1.0] * 1000)
    assert row["cpu_s_per_1k"] == {"broker": 2.0, "worker-0": 4.0, LOADGEN: 1.0}
    assert row["direct_cpu_s_per_1k"] == {"fake": 0.5}
    assert row["worker_rss_mb"] == {"worker-0": 120.0}
    assert row["others_cores"] == 0.5  # 5 CPU seconds over a 10 s window


def test_a_busy_or_late_load_generator_is_flagged():
    assert row_for([1.0] * 10, [1.0] * 10, loadgen_cpu=1.0)["loadgen_saturated"] is False
    assert row_for([1.0] * 10, [1.0] * 10, loadgen_cpu=9.5)["loadgen_saturated"] is True
    assert row_for([1.0] * 10, [1.0] * 10, lag=[0.0] * 9 + [80.0])["loadgen_saturated"] is True


def test_row_without_samples_has_no_latency_figures():
    row = overhead_row(100.0, load([], timeouts=3), {}, load([1.0]), {})
    assert row["p99_ms"] is None and row["added_p99_ms"] is None
    assert row["timeouts"] == 3


def test_sustained_needs_low_p99_full_rate_and_no_failures():
    good = {"offered_rps": 100.0, "achieved_rps": 99.0, "p99_ms": 40.0, "sent": 1000, "errors": 0, "timeouts": 0}
    assert sustained(good, p99_limit_ms=250)
    assert not sustained({**good, "p99_ms": 300.0}, p99_limit_ms=250)
    assert not sustained({**good, "achieved_rps": 80.0}, p99_limit_ms=250)
    assert not sustained({**good, "timeouts": 5}, p99_limit_ms=250)
    assert not sustained({**good, "p99_ms": None}, p99_limit_ms=250)
    # a Poisson schedule that offered fewer calls than the nominal rate is judged by what it offered
    assert sustained({**good, "achieved_rps": 82.0, "scheduled_rps": 84.0}, p99_limit_ms=250)
    assert not sustained({**good, "achieved_rps": 70.0, "scheduled_rps": 84.0}, p99_limit_ms=250)


def test_tables_have_one_cell_per_header():
    rows = [row_for([10.0] * 10, [1.0] * 10), row_for([30.0] * 10, [2.0] * 10)]
    for headers, cells in (latency_table(rows), cost_table(rows)):
        assert len(cells) == 2
        assert all(len(c) == len(headers) for c in cells)
    headers, cells = latency_table(rows)
    assert cells[1][headers.index("added p99")] == "28.0"
    headers, cells = cost_table(rows)
    assert cells[0][headers.index("worker-0")] == "400.000"  # 4 s over 10 requests


def test_document_refuses_rows_without_contract_keys():
    with pytest.raises(ValueError, match="lacks p99_ms"):
        document("overhead", {}, [{"offered_rps": 5, "achieved_rps": 5, "p50_ms": 1, "direct_p99_ms": 1,
                                   "added_p99_ms": 1}])


def test_write_result_names_the_file_after_the_scenario(tmp_path):
    doc = document("overhead", {"rates": [50]}, [row_for([10.0], [1.0])])
    path = write_result(doc, None, tmp_path / "results")
    assert path.parent == tmp_path / "results" and path.name.startswith("overhead-")
    assert orjson.loads(path.read_bytes())["rows"][0]["offered_rps"] == 100.0
    explicit = write_result(doc, tmp_path / "x" / "mine.json", tmp_path / "unused")
    assert explicit.exists() and not (tmp_path / "unused").exists()


def test_ramp_grows_geometrically_to_the_ceiling():
    from tokenyard.streams.bench.saturate import ramp

    assert ramp(100, 1.5, 400) == [100.0, 150.0, 225.0, 338.0]
    with pytest.raises(ValueError):
        ramp(100, 1.0, 400)


def test_max_sustained_stops_at_the_first_rate_that_failed():
    from tokenyard.streams.bench.saturate import max_sustained

    def r(rate, p99):
        return {"offered_rps": rate, "achieved_rps": rate, "p99_ms": p99, "sent": 100, "errors": 0, "timeouts": 0}

    assert max_sustained([r(100, 20), r(200, 80), r(400, 900), r(800, 30)], p99_limit_ms=250) == 200
    assert max_sustained([r(100, 300)], p99_limit_ms=250) is None


def test_peer_row_puts_litellm_beside_tokenyard_against_one_direct_run():
    from tokenyard.streams.bench.measure import Phase
    from tokenyard.streams.bench.peer import peer_row

    direct = Phase(load([1.0] * 100), {"fake": Usage(0.1, 1), LOADGEN: Usage(0.3, 1)})
    tokenyard = Phase(load([11.0] * 100), {"fake": Usage(0.1, 1), "broker": Usage(0.2, 1), "worker-0": Usage(0.3, 1),
                                            LOADGEN: Usage(9.0, 1), OTHERS: Usage(3.0, 0)})
    litellm = Phase(load([41.0] * 100), {"fake": Usage(0.1, 1), "litellm": Usage(1.0, 1), LOADGEN: Usage(0.5, 1)})
    row = peer_row(100.0, direct, tokenyard, litellm)
    assert row["added_p99_ms"] == 10.0
    assert row["litellm_added_p99_ms"] == 40.0
    assert row["tokenyard_cpu_s_per_1k"] == 5.0  # broker + worker, not the fake, load generator or others
    assert row["litellm_cpu_s_per_1k"] == 10.0
    assert all(k in row for k in REQUIRED_ROW_KEYS)
