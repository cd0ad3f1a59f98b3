"""Process entry points: `tokenyard worker`, `tokenyard sink`, `tokenyard broker`."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click
from aiokafka.errors import KafkaError

from tokenyard.errors import ConfigError, SinkUnavailable
from tokenyard.streams.broker import LocalBroker


@click.command()
@click.option("--loglevel", default="info", show_default=True, envvar="TOKENYARD_LOGLEVEL",
              type=click.Choice(["debug", "info", "warning"]))
@click.pass_obj
def worker(ctx: object, loglevel: str) -> None:
    """Run one gateway worker (the request agent) in the foreground.

    Start as many as you like: they share the requests topic's partitions.
    """
    from tokenyard.streams.assembly import build_gateway_app, create_topics, run

    try:
        app = build_gateway_app(ctx.settings, os.environ)  # type: ignore[attr-defined]
        create_topics(ctx.settings)  # type: ignore[attr-defined]
    except ConfigError as exc:
        click.echo(f"tokenyard worker: configuration error: {exc.message}", err=True)
        sys.exit(2)
    except KafkaError as exc:
        click.echo(f"tokenyard worker: the broker at {ctx.settings.kafka.bootstrap} is unreachable: {exc}", err=True)  # type: ignore[attr-defined]
        sys.exit(1)
    run(app, loglevel=loglevel)


@click.command()
@click.option("--loglevel", default="info", show_default=True, envvar="TOKENYARD_LOGLEVEL",
              type=click.Choice(["debug", "info", "warning"]))
@click.pass_obj
def sink(ctx: object, loglevel: str) -> None:
    """Run the usage sink: usage events from Kafka into ClickHouse, in batches.

    It owns the embedded chDB directory while it runs and serves analyst queries
    on 127.0.0.1:<sink.web_port> for `tokenyard report`.
    """
    from tokenyard.streams.assembly import build_sink_app, create_topics, run

    try:
        app = build_sink_app(ctx.settings)  # type: ignore[attr-defined]
        create_topics(ctx.settings)  # type: ignore[attr-defined]
    except (ConfigError, SinkUnavailable) as exc:
        click.echo(f"tokenyard sink: {exc.code}: {exc.message}", err=True)
        sys.exit(2 if isinstance(exc, ConfigError) else 1)
    except KafkaError as exc:
        click.echo(f"tokenyard sink: the broker at {ctx.settings.kafka.bootstrap} is unreachable: {exc}", err=True)  # type: ignore[attr-defined]
        sys.exit(1)
    run(app, loglevel=loglevel)


@click.command()
@click.option("--port", type=int, default=None, help="Port (default: the one in kafka.bootstrap).")
@click.pass_obj
def broker(ctx: object, port: int | None) -> None:
    """Run the local tansu broker on loopback until Ctrl-C (memory storage)."""
    if port is None:
        port = int(ctx.settings.kafka.bootstrap.rpartition(":")[2])  # type: ignore[attr-defined]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with LocalBroker(port=port) as b:
        click.echo(f"tansu broker listening on {b.bootstrap} (memory storage; Ctrl-C stops it)")
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
