"""`tokenyard up` and `tokenyard demo`: the local stack in one command."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import httpx
from rich.console import Console
from rich.table import Table

from tokenyard.analytics.query_api import fetch_query
from tokenyard.errors import ConfigError, TokenyardError
from tokenyard.schemas.records import Reply
from tokenyard.streams.client import TokenyardClient
from tokenyard.streams.settings import Settings
from tokenyard.streams.stack import LocalStack

SAMPLE_PROMPTS = [
    ("acme", "What is the capital of France? Answer in one sentence."),
    ("acme", "Give me one tip for writing clear Python code."),
    ("globex", "Name three primary colours."),
]


def _stack(ctx: object, workers: int, no_model: bool) -> LocalStack:
    settings: Settings = ctx.settings  # type: ignore[attr-defined]
    return LocalStack(
        settings=settings,
        config_path=ctx.config,  # type: ignore[attr-defined]
        log_dir=Path(settings.worker.data_dir) / "logs",
        workers=workers,
        with_model=not no_model,
    )


def _start(stack: LocalStack, console: Console) -> None:
    try:
        stack.start(progress=lambda msg: console.print(f"[dim]·[/dim] {msg}"))
    except (ConfigError, TimeoutError) as exc:
        console.print(f"[red]could not start the stack:[/red] {exc}")
        sys.exit(1)


@click.command()
@click.option("--workers", default=1, show_default=True, help="Gateway worker processes.")
@click.option("--no-model", is_flag=True, help="Do not start the local SmolLM2 server.")
@click.pass_obj
def up(ctx: object, workers: int, no_model: bool) -> None:
    """Start the local stack and keep it in the foreground until Ctrl-C.

    Starts the tansu broker, the SmolLM2 model server, the usage sink and the
    gateway workers; logs go to <worker.data_dir>/logs/.
    """
    console = Console(stderr=True)
    stack = _stack(ctx, workers, no_model)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with stack:
        _start(stack, console)
        console.print(
            f"[green]stack running[/green]: broker {stack.settings.kafka.bootstrap}, "
            f"{workers} worker(s), logs in {stack.log_dir}. "
            'Try: tokenyard send "Hello"  — Ctrl-C stops everything.'
        )
        try:
            while True:
                dead = stack.dead_children()
                if dead:
                    names = ", ".join(f"{c.name} (see {c.log_path})" for c in dead)
                    console.print(f"[red]stopped unexpectedly:[/red] {names}")
                    sys.exit(1)
                time.sleep(0.5)
        except KeyboardInterrupt:
            console.print("shutting down…")
    console.print("stopped.")


@click.command()
@click.option("--no-model", is_flag=True, help="Use whatever provider the config routes to.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait per answer.")
@click.pass_obj
def demo(ctx: object, no_model: bool, timeout: float) -> None:
    """Start the local stack, send a few sample requests, print answers and costs, stop."""
    console = Console()
    stack = _stack(ctx, 1, no_model)
    with stack:
        _start(stack, console)
        console.print("[dim]·[/dim] sending sample requests (the first waits for the worker to join)")
        started = datetime.now(UTC)
        try:
            replies = asyncio.run(_ask(stack.settings, timeout))
        except TokenyardError as exc:
            console.print(f"[red]demo failed:[/red] {exc.code}: {exc.message}")
            sys.exit(1)
        _print_answers(console, replies)
        _print_costs(console, stack.settings, started, len(replies))
    if any(r.status != "ok" for _, _, r in replies):
        sys.exit(1)


async def _ask(settings: Settings, timeout: float) -> list[tuple[str, str, Reply]]:
    async with TokenyardClient.from_settings(settings) as client:
        results = await asyncio.gather(
            *(
                client.complete(
                    [{"role": "user", "content": prompt}],
                    tenant=tenant,
                    params={"max_tokens": 48},
                    timeout=timeout,
                    raise_on_error=False,
                )
                for tenant, prompt in SAMPLE_PROMPTS
            )
        )
    return [(t, p, r) for (t, p), r in zip(SAMPLE_PROMPTS, results, strict=True)]


def _print_answers(console: Console, replies: list[tuple[str, str, Reply]]) -> None:
    for tenant, prompt, reply in replies:
        console.print(f"\n[bold]{tenant}[/bold] asked: {prompt}")
        if reply.status == "ok":
            console.print(f"  → {(reply.content or '').strip()}")
        else:
            assert reply.error is not None
            console.print(f"  [red]error {reply.error.code}[/red]: {reply.error.message}")


def _print_costs(console: Console, settings: Settings, since: datetime, requests: int) -> None:
    """The demo's spend per tenant, as ClickHouse holds it (read through the usage sink)."""
    base = f"http://127.0.0.1:{settings.sink.web_port}"
    rows: list[dict[str, object]] = []
    with httpx.Client(timeout=10) as http:
        for _ in range(60):  # the sink flushes every sink.flush_interval_s
            try:
                rows = fetch_query(http, base, "spend_by_tenant",
                                   {"since": since, "until": datetime.now(UTC) + timedelta(minutes=1), "tenant": ""})
            except TokenyardError:
                rows = []
            if sum(int(str(r["requests"])) for r in rows) >= requests:
                break
            time.sleep(0.5)
    table = Table(title="cost of this demo per tenant, from ClickHouse (tokenyard report shows more)")
    columns = ("tenant", "requests", "attempts", "input_tokens", "output_tokens", "cost_usd")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="left" if column == "tenant" else "right")
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    console.print()
    console.print(table if rows else "[yellow]no usage rows reached ClickHouse yet[/yellow]")
