"""`tokenyard bench ingest` runs end to end on small sizes (its numbers come from the command)."""

from __future__ import annotations

from tokenyard.analytics.bench import run_benchmark
from tokenyard.analytics.client import open_client
from tokenyard.analytics.queries import query_names


def test_benchmark_ingests_every_row_once_and_times_every_query(chdb_dir):
    lines: list[str] = []
    result = run_benchmark(str(chdb_dir), [3_000], ingest_rows=2_500, echo=lines.append)

    assert [run["batch"] for run in result["ingest"]] == [1_000, 10_000]
    for run in result["ingest"]:
        assert run["rows"] == 2_500 and run["rows_per_s"] > 0
        assert set(run["ms_per_insert"]) == {"check", "build", "insert"}
        client = open_client(f"chdb://{chdb_dir}", f"bench_ingest_{run['batch']}")
        try:
            stored = client.query_rows(
                "SELECT count() AS n, uniqExact(event_id) AS u FROM usage_events"
            )
            hourly = client.query_rows("SELECT sum(rows) AS n FROM usage_hourly")
        finally:
            client.close()
        assert stored == [{"n": 2_500, "u": 2_500}] and hourly == [{"n": 2_500}]
    timings = result["queries"]["3000"]["timings"]
    assert {name.split("[")[0] for name in timings} == set(query_names())
    assert any(line.startswith("ingest batch 1000:") for line in lines)
