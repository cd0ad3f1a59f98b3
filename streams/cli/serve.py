"""`tokenyard serve`: the OpenAI-compatible HTTP front door."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from aiokafka.errors import KafkaError

from tokenyard.errors import ConfigError
from tokenyard.streams.frontdoor.keys import KeyRing
from tokenyard.streams.frontdoor.server import serve_forever
from tokenyard.streams.frontdoor.settings import FrontDoorSettings


@click.command()
@click.option("--host", default=None, help="Address to bind  [default: frontdoor.host, 127.0.0.1]")
@click.option("--port", type=int, default=None, help="Port  [default: frontdoor.port, 8080]")
@click.option(
    "--keys", "keys_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="TOML file of API keys -> tenants  [default: frontdoor.keys_file]",
)
@click.option("--timeout", type=float, default=None, help="Seconds a call waits for its reply  [default: 120]")
@click.pass_obj
def serve(ctx: object, host: str | None, port: int | None, keys_file: Path | None, timeout: float | None) -> None:
    """Serve OpenAI's chat-completions API over tokenyard on HOST:PORT.

    Point any OpenAI SDK at http://HOST:PORT/v1 with a key from the keys file:
    POST /v1/chat/completions (JSON or stream: true as SSE), GET /v1/models,
    GET /metrics (Prometheus), GET /healthz.
    """
    settings = ctx.settings  # type: ignore[attr-defined]
    configured: FrontDoorSettings = getattr(settings, "frontdoor", None) or FrontDoorSettings()
    overrides = {"host": host, "port": port, "keys_file": str(keys_file) if keys_file else None,
                 "request_timeout_s": timeout}
    try:
        frontdoor = FrontDoorSettings.model_validate(
            {**configured.model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
        )
        if frontdoor.keys_file is None:
            raise ConfigError("the front door needs API keys: pass --keys FILE (or set frontdoor.keys_file)")
        keyring = KeyRing.from_file(frontdoor.keys_file)
    except ConfigError as exc:
        click.echo(f"tokenyard serve: configuration error: {exc.message}", err=True)
        sys.exit(2)
    except ValueError as exc:  # pydantic's ValidationError: a bad --port or --timeout
        click.echo(f"tokenyard serve: configuration error: {exc}", err=True)
        sys.exit(2)

    def ready(url: str) -> None:
        click.echo(f"tokenyard front door on {url}/v1 ({len(keyring)} keys, routes: "
                   f"{', '.join(settings.routes) or 'none'}); Ctrl-C stops", err=True)

    try:
        asyncio.run(serve_forever(settings, frontdoor, keyring, on_ready=ready))
    except KafkaError as exc:
        click.echo(f"tokenyard serve: cannot reach Kafka at {settings.kafka.bootstrap}: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # the port is taken, or the address is not ours
        click.echo(f"tokenyard serve: cannot listen on {frontdoor.host}:{frontdoor.port}: {exc}", err=True)
        sys.exit(1)
