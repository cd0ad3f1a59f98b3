"""``tokenyard dlq``: list, show and replay dead letters.

Reading "everything on the topic" must not trust the broker's end offset (tansu's
``ListOffsets(latest)`` returns the start of the last batch + 1; ENVIRONMENT.md),
so the reader fetches from the beginning until its position reaches the high
watermark that the fetch responses themselves carry, which is right on tansu and
Kafka alike. Any fetch made after the command started reports a high watermark at
least as high as the end offset at that moment, so nothing written before the
command started is missed. Reading never writes to the topic.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import click
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tokenyard.streams.dlq import (
    COLUMNS,
    StoredLetter,
    Unreadable,
    choose_for_replay,
    describe_bytes,
    find,
    parse_record,
    parse_since,
    select,
)
from tokenyard.streams.kafka_security import PLAINTEXT, KafkaSecurity
from tokenyard.streams.offset_holes import GaplessConsumer
from tokenyard.streams.topics import TopicNames

# More letters than this get a progress bar while they are re-published.
_PROGRESS_FROM = 20


async def read_topic_exactly(
    bootstrap: str, topic: str, *, fetch_max_wait_ms: int = 10, timeout_s: float = 60.0,
    security: KafkaSecurity = PLAINTEXT,
) -> list[tuple[int, int, bytes | None]]:
    """Every record on ``topic`` up to the high watermark, as (partition, offset, value)."""
    consumer = GaplessConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=fetch_max_wait_ms,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        request_timeout_ms=int(timeout_s * 1000),
        **security.client_kwargs(),
    )
    await consumer.start()
    records: list[tuple[int, int, bytes | None]] = []
    try:
        if topic not in await consumer.topics():
            return records
        tps = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        pending = set(tps)
        async with asyncio.timeout(timeout_s):
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=200, max_records=10_000)
                for tp, got in batch.items():
                    records.extend((tp.partition, r.offset, r.value) for r in got)
                for tp in list(pending):
                    highwater = consumer.highwater(tp)
                    if highwater is not None and await consumer.position(tp) >= highwater:
                        pending.discard(tp)
    finally:
        await consumer.stop()
    return records


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    # topics() fetches fresh metadata but does not store it in the client's cluster
    # view, which partitions_for_topic reads: refresh that view until it knows the topic.
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.05)
    raise KafkaError(f"the broker lists topic {topic!r} but reports no partitions for it")


async def load_letters(settings: Any) -> tuple[list[StoredLetter], list[Unreadable]]:
    topic = TopicNames.from_settings(settings.kafka).dead_letters
    raw = await read_topic_exactly(
        settings.kafka.bootstrap, topic, fetch_max_wait_ms=settings.kafka.fetch_max_wait_ms,
        security=settings.kafka.security,
    )
    letters: list[StoredLetter] = []
    unreadable: list[Unreadable] = []
    for partition, offset, value in raw:
        parsed = parse_record(partition, offset, value)
        (letters if isinstance(parsed, StoredLetter) else unreadable).append(parsed)  # type: ignore[arg-type]
    return letters, unreadable


async def republish(
    bootstrap: str, letters: Sequence[StoredLetter], on_sent: Callable[[StoredLetter], None],
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Send each letter's original key and bytes back to its source topic, in order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **security.client_kwargs())
    await producer.start()
    try:
        # Queue everything first (batched, and in order per partition), then count acks.
        acks = [
            (stored, await producer.send(stored.letter.source_topic, stored.original_value(),
                                         key=stored.original_key()))
            for stored in letters
        ]
        for stored, ack in acks:
            await ack
            on_sent(stored)
    finally:
        await producer.stop()


def _run(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except (KafkaError, TimeoutError, OSError) as exc:
        click.echo(f"tokenyard dlq: cannot read or write the broker: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)


def _load(obj: Any) -> list[StoredLetter]:
    letters, unreadable = _run(load_letters(obj.settings))
    if unreadable:
        first = unreadable[0]
        click.echo(
            f"note: {len(unreadable)} record(s) on the topic are not dead letters "
            f"(first at {first.partition}/{first.offset}: {first.reason})",
            err=True,
        )
    return letters


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_since(value, int(time.time() * 1000))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


@click.group("dlq")
def dlq() -> None:
    """Inspect and replay dead letters (events no stage could process)."""


@dlq.command("list")
@click.option("--code", default=None, help="Only letters with this error code (e.g. invalid_request).")
@click.option("--since", default=None, help="Only letters from then on: 30s, 15m, 2h, 1d, an ISO time or epoch ms.")
@click.option("--limit", type=click.IntRange(min=0), default=None, help="Only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of the letters (with dlq_offset).")
@click.pass_obj
def list_command(obj: Any, code: str | None, since: str | None, limit: int | None, as_json: bool) -> None:
    """List dead letters, oldest first."""
    since_ms = _since(since)
    chosen = select(_load(obj), code=code, since_ms=since_ms, limit=limit)
    if as_json:
        click.echo(orjson.dumps([s.to_json() for s in chosen]).decode())
        return
    if not chosen:
        click.echo("no dead letters match", err=True)
        return
    with_partition = any(s.partition != 0 for s in chosen)
    table = Table(*COLUMNS, title=f"{len(chosen)} dead letter(s)")
    for stored in chosen:
        table.add_row(*stored.row(with_partition=with_partition))
    Console(width=max(120, Console().width)).print(table)


@dlq.command("show")
@click.argument("offset", type=click.IntRange(min=0))
@click.option("--partition", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the letter as JSON only.")
@click.pass_obj
def show_command(obj: Any, offset: int, partition: int, as_json: bool) -> None:
    """Show the dead letter at OFFSET: the letter, then the original key and bytes decoded."""
    stored = find(_load(obj), partition, offset)
    if stored is None:
        click.echo(f"tokenyard dlq: no dead letter at partition {partition}, offset {offset}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(orjson.dumps(stored.to_json(), option=orjson.OPT_INDENT_2).decode())
        return
    letter = stored.to_json()
    letter.pop("value_b64", None)
    letter.pop("key_b64", None)
    click.echo(orjson.dumps(letter, option=orjson.OPT_INDENT_2).decode())
    click.echo("\n-- original key:")
    click.echo(describe_bytes(stored.original_key()))
    click.echo("\n-- original value:")
    click.echo(describe_bytes(stored.original_value()))


@dlq.command("replay")
@click.option("--offset", "offsets", type=click.IntRange(min=0), multiple=True, help="A letter's offset; repeat.")
@click.option("--partition", type=click.IntRange(min=0), default=0, show_default=True,
              help="The dead-letter partition the --offset values are in.")
@click.option("--code", default=None, help="Every letter with this error code.")
@click.option("--all", "everything", is_flag=True, help="Every letter.")
@click.option("--since", default=None, help="With --code or --all: only letters from then on.")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send nothing.")
@click.pass_obj
def replay_command(obj: Any, offsets: tuple[int, ...], partition: int, code: str | None,
                   everything: bool, since: str | None, dry_run: bool) -> None:
    """Re-publish the ORIGINAL bytes and key of dead letters to their source topic.

    The bytes are sent unchanged, so an event that was wrong is dead-lettered again;
    replay is for letters whose cause was fixed on the gateway's side (a missing route,
    a too-small size limit, a bug). A signed request older than auth.max_skew_s is
    refused again as unauthenticated: its client must sign it anew.
    """
    since_ms = _since(since)
    letters = _load(obj)
    try:
        chosen = choose_for_replay(letters, offsets=offsets, partition=partition, code=code,
                                   everything=everything, since_ms=since_ms)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except LookupError as exc:
        click.echo(f"tokenyard dlq: {exc}", err=True)
        sys.exit(1)
    names = TopicNames.from_settings(obj.settings.kafka)
    replayable = {names.requests, names.usage, names.cache, names.completions}
    refused = sorted({s.letter.source_topic for s in chosen} - replayable)
    if refused:
        click.echo(f"tokenyard dlq: refusing to publish to {', '.join(refused)}: not one of this "
                   f"gateway's topics ({', '.join(sorted(replayable))})", err=True)
        sys.exit(1)
    for stored in chosen if dry_run else ():
        click.echo(f"would send {stored.partition}/{stored.offset} ({stored.code}, "
                   f"request {stored.letter.request_id or '-'}) to {stored.letter.source_topic}")
    if dry_run or not chosen:
        click.echo(f"{'would replay' if dry_run else 'replayed'} {len(chosen)} dead letter(s)")
        return
    if len(chosen) < _PROGRESS_FROM:
        _run(republish(obj.settings.kafka.bootstrap, chosen, lambda s: None, obj.settings.kafka.security))
    else:
        with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=Console(stderr=True)) as progress:
            task = progress.add_task("replay", total=len(chosen))
            _run(republish(obj.settings.kafka.bootstrap, chosen, lambda s: progress.advance(task), obj.settings.kafka.security))
    click.echo(f"replayed {len(chosen)} dead letter(s)")
