"""Benchmark: usage ingest into chDB and analyst query latency.

    .venv/bin/python benchmarks/analytics/bench_ingest.py /tmp/bench-chdb [1000000,10000000]

Same as ``tokenyard analytics bench --dir DIR``. Use an empty directory: the
query tables are filled once and reused on the next run.
"""

from __future__ import annotations

import sys

import orjson

from tokenyard.analytics.bench import run_benchmark


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    sizes = [int(part) for part in (argv[1] if len(argv) > 1 else "1000000,10000000").split(",")]
    result = run_benchmark(argv[0], sizes, echo=lambda line: print(line, file=sys.stderr))
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
