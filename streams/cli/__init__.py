"""The ``tokenyard`` command line: one module per command group.

Exit codes: 0 success, 1 the operation failed, 2 usage or configuration error.
Every command takes ``--help``; commands that print data take ``--json``.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from tokenyard.errors import ConfigError
from tokenyard.streams.settings import Settings, load_settings

# (module, attribute): each names a click command or group added to `tokenyard`.
COMMANDS: list[tuple[str, str]] = [
    ("run", "worker"),
    ("run", "sink"),
    ("run", "broker"),
    ("stack", "up"),
    ("stack", "demo"),
    ("send", "send"),
    ("serve", "serve"),
    ("bench", "bench"),
    ("analytics", "analytics"),
    ("report", "report"),
    ("cache", "cache"),
    ("dlq", "dlq"),
    ("status", "status"),
]


class Context:
    """What every command gets: the config path and settings loaded once."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config, os.environ)
            except ConfigError as exc:
                click.echo(f"tokenyard: configuration error: {exc.message}", err=True)
                sys.exit(2)
        return self._settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="TOKENYARD_CONFIG",
    help="TOML config file (default: the embedded local-stack defaults).",
)
@click.version_option(package_name="tokenyard")
@click.pass_context
def cli(ctx: click.Context, config: Path | None) -> None:
    """tokenyard: a Kafka-native LLM gateway.

    Services publish requests to Kafka and read answers from a reply topic;
    tokenyard workers serve them from a semantic cache or a provider, under rate
    limits and budgets, and stream usage into ClickHouse.
    """
    ctx.obj = Context(config)


def _register() -> None:
    for module, attr in COMMANDS:
        cli.add_command(getattr(importlib.import_module(f"tokenyard.streams.cli.{module}"), attr))
    from tokenyard.streams.cli.analytics import bench_ingest
    from tokenyard.streams.cli.bench import bench
    from tokenyard.streams.cli.bench_parts import COMPONENT_COMMANDS

    for command in COMPONENT_COMMANDS:
        bench.add_command(command)
    bench.add_command(bench_ingest, name="ingest")


def main() -> None:
    _register()
    cli()
