"""What ``tokenyard bench cache`` shows: progress bars while it runs, a table at the end."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from tokenyard.streams.bench.cache_speed import Progress as ProgressCallback

T = TypeVar("T")


def with_progress(run: Callable[[ProgressCallback], T]) -> T:
    """Run ``run(progress)`` with one rich progress bar per phase, on stderr."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True)) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        return run(progress)


def print_table(result: dict[str, Any]) -> None:
    """One column per size, one row per measure."""
    hnsw = result["hnsw"]
    k = result["candidates"]
    table = Table(title=f"cache core speed (hnswlib M={hnsw['m']} ef_construction={hnsw['ef_construction']} "
                        f"ef={hnsw['ef']}, top-{k}; load {result['load_before']:.1f} -> {result['load_after']:.1f})")
    efs = next(iter(result["sizes"].values()))["search"]
    rows = [("index", lambda r: r["index"])]
    for ef in efs:
        rows += [
            (f"ef={ef}: search only p50 / p99 ms",
             lambda r, ef=ef: f"{r['search'][ef]['p50_ms']:.3f} / {r['search'][ef]['p99_ms']:.3f}"),
            (f"ef={ef}: recall@1 / @{k} vs brute force",
             lambda r, ef=ef: f"{r['search'][ef]['recall_at_1']:.3f} / {r['search'][ef][f'recall_at_{k}']:.3f}"),
            (f"ef={ef}: own pair in top-{k}, exact / ANN",
             lambda r, ef=ef: f"{r['search'][ef]['own_pair_in_exact_top_k']:.3f} / "
                              f"{r['search'][ef]['own_pair_in_ann_top_k']:.3f}"),
        ]
    rows += [
        (f"lookups below at ef={hnsw['ef']}; embedding p50 / p99 ms", lambda r: f"{r['embedding']['p50_ms']:.2f} / {r['embedding']['p99_ms']:.2f}"),
        ("lookup w/o embedding p50 / p99 ms",
         lambda r: f"{r['lookup_without_embedding']['p50_ms']:.3f} / {r['lookup_without_embedding']['p99_ms']:.3f}"),
        ("whole lookup p50 / p99 ms", lambda r: f"{r['lookup_total']['p50_ms']:.2f} / {r['lookup_total']['p99_ms']:.2f}"),
        ("semantic hits / lookups", lambda r: f"{r['lookup_hits']} / {r['lookups']}"),
        ("  of them reopened by the judge", lambda r: f"{r.get('lookup_hits_judged', 0)}"),
        ("exact hit p50 / p99 ms", lambda r: f"{r['exact_hit']['p50_ms']:.3f} / {r['exact_hit']['p99_ms']:.3f}"),
        ("insert per s (apply, 1 thread)", lambda r: f"{r['insert_per_s']:,}"),
        ("memory per 1M entries", lambda r: f"{r['rss_bytes_per_entry'] * 1e6 / 2**30:.2f} GiB"),
        ("rebuild s per 100k (2 threads)", lambda r: f"{r['rebuild_s_per_100k']:.1f}"),
    ]
    table.add_column("measure")
    for size in result["sizes"]:
        table.add_column(f"{int(size):,} entries", justify="right")
    for label, cell in rows:
        table.add_row(label, *(cell(r) for r in result["sizes"].values()))
    Console().print(table)
