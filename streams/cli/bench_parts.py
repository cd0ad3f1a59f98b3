"""`tokenyard bench` scenarios of single components (cache, admission, ingest).

They measure a pure core in this process, without broker or workers; the
pipeline scenarios live in `streams/cli/bench.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table


@click.command("cache-quality")
@click.argument("pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def cache_quality(pairs: Path, as_json: bool) -> None:
    """Store each pair's `a`, look up its `b`: precision, recall, false-hit rate.

    PAIRS is a JSON-lines file of {"id", "a", "b", "label": "hit"|"miss"}. Uses the
    real MiniLM model and the default cache settings (verification on).
    """
    from tokenyard.cache.quality import run_cache_quality
    from tokenyard.errors import TokenyardError

    try:
        result = run_cache_quality(pairs)
    except TokenyardError as exc:
        click.echo(f"tokenyard bench cache-quality: {exc.message}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    table = Table(title=f"cache quality on {pairs.name}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key in ("hit_pairs", "miss_pairs", "true_hits", "false_hits", "precision", "recall", "false_hit_rate"):
        value = result[key]
        table.add_row(key.replace("_", " "), f"{value:.4f}" if isinstance(value, float) else str(value))
    Console().print(table)


@click.command("admission")
@click.option("--decisions", type=int, default=50_000, show_default=True)
@click.option("--repeats", type=int, default=3, show_default=True)
def admission(decisions: int, repeats: int) -> None:
    """Admission decisions per second and microseconds per decision (pure core)."""
    from tokenyard.streams.bench.admission_speed import main

    main(["--decisions", str(decisions), "--repeats", str(repeats)])


@click.command("cache")
@click.option("--sizes", default="10000,100000,1000000", show_default=True,
              help="Comma-separated entry counts (1M takes ~15 minutes and ~5 GB).")
@click.option("--threads", type=int, default=1, show_default=True, help="Threads of the embedding model.")
@click.option("--ef", "efs", default="64,128,256", show_default=True,
              help="hnswlib ef values to time search alone and ANN recall at (lookups use the configured ef).")
@click.option("--hnsw-m", type=int, default=None, help="Override the cache's hnsw_m (default: the setting's default).")
@click.option("--ef-construction", type=int, default=None, help="Override hnsw_ef_construction.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def cache(sizes: str, threads: int, efs: str, hnsw_m: int | None, ef_construction: int | None, as_json: bool) -> None:
    """Cache core speed per size: search alone, ANN recall, whole lookup, insert, memory, rebuild.

    Bulk entries are derived from real MiniLM embeddings of the pair files' questions
    (see streams/bench/cache_corpus.py); the lookups embed held-out questions for real.
    """
    from tokenyard.streams.bench.cache_speed import run_cache_speed
    from tokenyard.streams.bench.cache_speed_view import print_table, with_progress

    from tokenyard.cache.config import CacheConfig
    from tokenyard.errors import TokenyardError

    counts, ef_values = _int_list(sizes, "--sizes", 1000), _int_list(efs, "--ef", 1)
    overrides = {"hnsw_m": hnsw_m, "hnsw_ef_construction": ef_construction}
    try:
        config = CacheConfig.from_mapping({k: v for k, v in overrides.items() if v is not None})
    except TokenyardError as exc:
        click.echo(f"tokenyard bench cache: {exc.message}", err=True)
        sys.exit(2)
    result = with_progress(lambda progress: run_cache_speed(counts, progress, threads, tuple(ef_values), config))
    if as_json:
        click.echo(orjson.dumps(result).decode())
        return
    print_table(result)


def _int_list(text: str, option: str, minimum: int) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"not a comma-separated list of integers: {text!r}", param_hint=option) from None
    if not values or min(values) < minimum:
        raise click.BadParameter(f"each value must be at least {minimum}", param_hint=option)
    return values


COMPONENT_COMMANDS = [cache_quality, cache, admission]
